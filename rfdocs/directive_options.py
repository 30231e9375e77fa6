"""The options the rf directives take besides each figure kind's own: one list for the Sphinx
directives and the MyST-MD plugin (importing it loads neither Sphinx nor docutils)."""

from __future__ import annotations

#: Options every figure directive takes besides its kind's own.
COMMON_OPTIONS: dict[str, str] = {
    "caption": "inline text under the figure (numbered when the figure has a :name:)",
    "name": "a label for :numref: and :ref:",
    "alt": "alternative text (default: computed from the figure's numbers)",
    "align": "left, center or right",
    "width": "a length or percentage, e.g. 80% or 400px",
    "class": "extra CSS class names",
    "model": "a zoo model name",
    "spec": "a spec file or an ONNX model (.onnx), relative to the page (inside the source "
            "directory)",
    "onnx": "an ONNX model file, relative to the page (inside the source directory)",
    "network": "a network defined earlier on the page with rf-network",
    "until": "cut the network after this layer (for ONNX also a node or output name)",
}

#: Kinds whose HTML form is an animation, with the option that asks for the static strip.
ANIMATED_KINDS = {"steps": {"static": "show the static strip instead of the animation on the web"}}

#: rf-table's own options (besides the common ones other than :alt: and :width:).
TABLE_OPTIONS = {"layers": "only these layers (names separated by commas or spaces)",
                 "no-input": "leave out the input row"}

#: The common options that give rf-network its network.
NETWORK_SOURCE_OPTIONS = ("model", "spec", "onnx", "until")
#: rf-network's own options (besides NETWORK_SOURCE_OPTIONS).
NETWORK_OPTIONS = {"show": "also show the spec as a code block"}

#: Kind options naming a file: resolved safely, hashed into the key.
PATH_OPTIONS = ("image",)
