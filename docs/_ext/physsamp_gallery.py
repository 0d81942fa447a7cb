"""How the example gallery runs physsamp's examples and finds their figures.

Every example is a script that saves its figures (matplotlib ``Figure`` objects, mostly from
:mod:`physsamp.plots`, built without pyplot) into the folder given by its ``--out`` option.
sphinx-gallery's matplotlib scraper collects only the figures that pyplot manages, so it would
show none of them. Instead:

* :func:`example_argv` (sphinx-gallery's ``reset_argv``) runs each example with
  ``--out <its own empty folder>``, plus ``--quick`` for the examples listed in
  :data:`QUICK`, whose full runs are longer than a documentation build can afford;
* :func:`saved_images` (an image scraper) shows, after each code block, the images that the
  block saved into that folder, in the order they were written.

So an example needs nothing for the gallery: what it saves when run from a shell is what the
gallery shows.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from sphinx_gallery.scrapers import figure_rst

#: examples run with ``--quick`` in the gallery (their full run is given on their own page)
QUICK = {"denoising.py"}

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".svg", ".gif"}

#: per example (its source path): the images already shown, with the time they were written
_shown: dict[str, dict[Path, int]] = {}


def output_folder(gallery_conf: dict[str, Any], src_file: str) -> Path:
    """The folder an example saves its figures into during the build."""
    return Path(gallery_conf["src_dir"]) / "_build" / "gallery-output" / Path(src_file).stem


def example_argv(gallery_conf: dict[str, Any], script_vars: dict[str, Any]) -> list[str]:
    """The command-line arguments of an example run by the gallery (sys.argv[1:])."""
    src_file = script_vars["src_file"]
    folder = output_folder(gallery_conf, src_file)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    _shown[src_file] = {}
    quick = ["--quick"] if Path(src_file).name in QUICK else []
    return ["--out", str(folder), *quick]


def saved_images(block: Any, block_vars: dict[str, Any], gallery_conf: dict[str, Any]) -> str:
    """reST for the images that the example saved since the previous code block."""
    src_file = block_vars["src_file"]
    folder = output_folder(gallery_conf, src_file)
    shown = _shown.setdefault(src_file, {})
    written = [
        path
        for path in folder.rglob("*")
        if path.suffix.lower() in IMAGE_SUFFIXES and shown.get(path) != path.stat().st_mtime_ns
    ]
    written.sort(key=lambda path: (path.stat().st_mtime_ns, path.name))
    image_paths = []
    for path, image_path in zip(written, block_vars["image_path_iterator"], strict=False):
        target = Path(image_path).with_suffix(path.suffix.lower())
        shutil.copyfile(path, target)
        shown[path] = path.stat().st_mtime_ns
        image_paths.append(str(target))
    return figure_rst(image_paths, gallery_conf["src_dir"])
