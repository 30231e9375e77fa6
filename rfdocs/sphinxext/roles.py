"""The ``rf`` role: computed numbers inline in prose, e.g. {rf}`vgg16:pool5:rf` -> 212×212,
{rf}`wavenet::rf` -> 3071 (one number per spatial axis: 1-D sequences, 2-D images, 3-D volumes).
The queries themselves are answered by ``rfdocs.queries`` (no Sphinx), shared with the Python API."""

from __future__ import annotations

from docutils import nodes
from docutils.nodes import Node, system_message
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxRole

from rfdocs.compute import Network
from rfdocs.queries import AXES, FIELD_HELP, FIELDS, PER_AXIS, SIZES, answer, format_field
from rfdocs.sphinxext.cache import code_fingerprint
from rfdocs.sphinxext.errors import report_inline
from rfdocs.sphinxext.sources import SourceError, load_model, page_networks
from rfdocs.sphinxext.state import record, settings

__all__ = ["AXES", "FIELDS", "FIELD_HELP", "PER_AXIS", "SIZES", "RfRole", "format_field",
           "setup_roles"]


class RfRole(SphinxRole):
    """``{rf}`SOURCE:LAYER:FIELD``` where SOURCE is a zoo model or a page network, LAYER a layer
    name (empty for the output) and FIELD one of FIELDS, optionally ``.h`` or ``.w``."""

    def run(self) -> tuple[list[Node], list[system_message]]:
        record(self.env).fingerprint = code_fingerprint()
        try:
            text = self.compute(self.text.strip())
        except ValueError as err:
            source, line = self.get_source_info()
            location = f"{source}:{line}"
            return report_inline(settings(self.env).config.on_error, f"rf role: {err}", location,
                                 "role", self.rawtext), []
        node = nodes.inline(self.rawtext, text, classes=["rfdocs-number"])
        self.set_source_info(node)
        return [node], []

    def compute(self, text: str) -> str:
        """The number's text (``rfdocs.queries.answer``): page networks, zoo models and ONNX
        files inside the source directory."""
        return answer(text, page_networks(self.env), self.model)

    def model(self, text: str) -> Network:
        """An ONNX model named by the role (relative to the page, inside the source directory),
        imported once per page and file contents (``load_model``)."""
        config = settings(self.env).config
        try:
            net, _ = load_model(self.env, text, "rf", None, config.max_model_bytes)
        except SourceError as err:
            raise ValueError(str(err).removeprefix(":rf: ")) from None
        return net


def setup_roles(app: Sphinx) -> None:
    app.add_role("rf", RfRole())
