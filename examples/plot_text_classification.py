"""
Text classification on sparse TF-IDF features
=============================================

Bag-of-words features are how most people meet these models: one column per
word of the vocabulary, a handful of nonzeros per document. scikit-learn's
:class:`~sklearn.feature_extraction.text.TfidfVectorizer` turns documents into
a SciPy CSR matrix, and each fastnn estimator takes it as it is, through a
:class:`~sklearn.pipeline.Pipeline`: :class:`fastnn.LogisticRegression`,
:class:`fastnn.MLPClassifier` (its first layer multiplies the sparse rows;
nothing is densified) and :class:`fastnn.OneVsAllClassifier`.

The documents are generated here (seeded, no download): four topics, each with
a few words of its own among many that every topic uses, drawn with Zipf-like
frequencies as real words are.
"""

import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from fastnn import LogisticRegression, MLPClassifier, OneVsAllClassifier

TOPICS = ["sport", "science", "cooking", "travel"]
rng = np.random.default_rng(0)


def made_up_words(n, rng):
    """``n`` distinct pronounceable words."""
    syllables = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]
    words = set()
    while len(words) < n:
        words.add("".join(rng.choice(syllables, size=rng.integers(2, 4))))
    return sorted(words)


vocabulary = made_up_words(6000, rng)
common, own = vocabulary[:2000], np.array_split(vocabulary[2000:], len(TOPICS))
zipf = {n: 1 / np.arange(1, n + 1) for n in (len(common), len(own[0]))}


def document(topic):
    """10 to 40 words: about 8 % from the topic's own words, the rest common."""
    n_words = rng.integers(10, 40)
    n_own = rng.binomial(n_words, 0.08)
    p_own, p_common = zipf[len(own[topic])], zipf[len(common)]
    words = np.concatenate([
        rng.choice(own[topic], size=n_own, p=p_own / p_own.sum()),
        rng.choice(common, size=n_words - n_own, p=p_common / p_common.sum()),
    ])
    return " ".join(rng.permutation(words))


y = rng.integers(0, len(TOPICS), size=2000)
texts = [document(topic) for topic in y]
texts_train, texts_test, y_train, y_test = train_test_split(
    texts, y, test_size=0.25, random_state=0)
print(texts_train[0][:70], "...")

# %%
# TF-IDF stays sparse
# -------------------
# The vectorizer's output is a CSR matrix with a few dozen nonzeros per row
# out of thousands of columns; ``dtype=np.float32`` keeps it in float32, and
# each estimator then trains in float32.

X_train = TfidfVectorizer(dtype=np.float32).fit_transform(texts_train)
print(f"{type(X_train).__name__} of shape {X_train.shape}, {X_train.nnz} nonzeros "
      f"({100 * X_train.nnz / np.prod(X_train.shape):.2f} % dense)")

# %%
# Each estimator, through a Pipeline
# ----------------------------------

estimators = {
    "LogisticRegression": LogisticRegression(),
    "MLPClassifier": MLPClassifier((32,), max_iter=15, random_state=0),
    "OneVsAllClassifier": OneVsAllClassifier(LogisticRegression()),
}
accuracy = {}
for name, estimator in estimators.items():
    pipeline = make_pipeline(TfidfVectorizer(dtype=np.float32), estimator)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # 15 epochs: a demo
        pipeline.fit(texts_train, y_train)
    accuracy[name] = pipeline.score(texts_test, y_test)
    print(f"{name:>20}: test accuracy {accuracy[name]:.3f}")

mlp = estimators["MLPClassifier"]
print(f"the MLP's first layer: {mlp.coefs_[0].shape} {mlp.coefs_[0].dtype}, one row "
      "per word of the vocabulary")

fig, ax = plt.subplots(figsize=(7, 3.5))
ax.barh(list(accuracy), list(accuracy.values()), color="tab:blue")
for i, value in enumerate(accuracy.values()):
    ax.text(value - 0.01, i, f"{value:.3f}", va="center", ha="right", color="white")
ax.set(xlim=(0, 1), xlabel="test accuracy",
       title=f"TF-IDF ({X_train.shape[1]} words, CSR) into each estimator")
fig.tight_layout()
plt.show()
