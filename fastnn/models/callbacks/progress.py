"""What ``verbose`` shows of a fit, as Keras' ``ProgbarLogger``: a tqdm progress bar
per epoch (``verbose=1``) or one line per epoch (``verbose=2``)."""

import sys

__all__ = ["progress_bar", "report_epoch"]


def progress_bar(verbose, epoch, epochs, n_batches):
    if verbose != 1:
        return None
    from tqdm.auto import tqdm  # a dependency; imported when a bar is first shown

    return tqdm(total=n_batches, desc=f"Epoch {epoch + 1}/{epochs}", unit="batch",
                file=sys.stdout, leave=True, dynamic_ncols=True)


def report_epoch(verbose, bar, epoch, epochs, logs, seconds):
    text = " - ".join(f"{key}: {value:.4f}" for key, value in logs.items())
    if bar is not None:
        bar.set_postfix_str(text, refresh=False)
        bar.close()
    elif verbose in (1, 2):
        print(f"Epoch {epoch + 1}/{epochs} - {seconds:.2f}s - {text}", flush=True)
