"""Copy the installed files of torch, torchvision, numpy and what they import into DEST, laid
out as a site-packages directory (dist-info included, so `pip freeze` lists them)."""

import shutil
import sys
from importlib import metadata
from pathlib import Path

DISTS = ("torch", "torchvision", "numpy", "sympy", "mpmath", "networkx", "jinja2", "MarkupSafe", "filelock",
         "fsspec", "typing_extensions", "pillow")

# PyPI's aarch64 torch is a CUDA build: `import torch` loads the nvidia-*/cuda-* runtime wheels
# (and triton) that came with it, so they come along.
extra = sorted({d.metadata["Name"] for d in metadata.distributions()
                if d.metadata["Name"] and d.metadata["Name"].lower().startswith(("nvidia-", "cuda-", "triton"))})
dest = Path(sys.argv[1])
for name in (*DISTS, *extra):
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        continue
    root = Path(dist.locate_file(""))
    for f in dist.files or ():
        src = Path(dist.locate_file(f))
        if not src.is_file() or ".." in f.parts:
            continue
        out = dest / f
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, out)
    print(name, dist.version, "from", root)
