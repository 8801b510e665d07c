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

from suite.data.dataset import Dataset, DatasetSpec, parse_dataset_spec
from suite.data.loaders import load_dataset as _load

__all__ = ["Dataset", "DatasetSpec", "parse_dataset_spec", "load_dataset"]


def load_dataset(spec, **kwargs):
    return _load(spec, **kwargs)
