"""Real evaluation data, offline: `--dataset SPEC [--limit N]`.

    digits            scikit-learn's 1,797 real 8x8 handwritten digits (the held-out split)
    imagefolder:DIR   class sub-folders (torchvision ImageFolder order, or DIR/classes.txt);
                      ImageNet WordNet-id folders map to the ImageNet class indices
    npz:FILE          arrays x (images) and y (labels, or masks for segmentation)
    hf-disk:DIR       a Hugging Face `datasets` dataset saved with save_to_disk
    user              the model file's own load_dataset() (and evaluate(outputs, targets))

A dataset is a list of samples and their targets, with an identity (spec, count, hash of the
file list or content) that the results record.
"""

from types import ModuleType

from suite.data.dataset import Dataset, DatasetSpec, parse_dataset_spec
from suite.data.loaders import load_dataset as _load

__all__ = ["Dataset", "DatasetSpec", "parse_dataset_spec", "load_dataset"]


def load_dataset(spec: str | DatasetSpec, *, limit: int | None = None, seed: int = 0, split: str | None = None,
                 columns: dict[str, str] | None = None, user_module: ModuleType | None = None) -> Dataset:
    return _load(spec, limit=limit, seed=seed, split=split, columns=columns, user_module=user_module)
