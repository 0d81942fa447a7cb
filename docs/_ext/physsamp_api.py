"""The API reference's own rules, as a Sphinx extension.

* Coverage: a public name of physsamp without an entry in the reference is a warning (so,
  under ``-W``, a failed build).
* Canonical names: an object documented under the name a user writes (``physsamp.Ising``,
  ``physsamp.to_inference_data``) can also be cross-referenced by the name of the module that
  defines it (``physsamp.models.pairwise.Ising.lattice``,
  ``physsamp.diagnostics.to_inference_data``), as docstrings inside physsamp do. Sphinx does
  this by itself for classes; here it is done for their members and for functions too.
* Names in docstrings resolve as Python resolves them in the module that defines the
  docstring: ``:func:`draw_exact_samples``` in a function of ``physsamp.infer.ais`` that is
  documented as ``physsamp.infer.ais_bounds`` still finds ``physsamp.infer.ais``'s function,
  and an annotation ``pt.ParallelTemperingState`` (``pt`` an imported module) finds the class.
  Inside a signature, a type that is not physsamp's (a type alias of ``dict``) or that lives
  in a private module is shown as plain text; in prose such a reference stays an error.
* Attribute and property docstrings are prose. Napoleon reads the first line of such a
  docstring as ``type: description`` (its Google-style convention for attributes), which
  turns "Per physsamp site: its model ..." into a type named "Per physsamp site"; physsamp
  takes the types of attributes from their annotations, so that convention is switched off.
* Array types read as the user writes them: jaxtyping annotations print JAX's array class as
  ``jaxlib._jax.Array``; signatures show ``jax.Array``. NamedTuple fields lose Python's
  docstring "Alias for field number 0" (their class's docstring describes them).
* Bases: a documented class whose base class lives in a private module
  (``physsamp.infer._adapter.ModelKernel``) shows that base's own public bases instead.

The public names of a module are its ``__all__``, or, without one, the functions and classes
it defines whose names do not start with an underscore. A name counts as documented when the
reference describes it under that name or under any other (``physsamp.infer.ais.plot_ais`` is
documented as ``physsamp.plots.plot_ais``): objects are compared, not names.
"""

from __future__ import annotations

import importlib
import inspect
import re
import types
from typing import Any

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.ext.napoleon.docstring import GoogleDocstring
from sphinx.util import logging
from sphinx.util.nodes import get_node_source, make_refnode

logger = logging.getLogger(__name__)

#: the modules whose public names the reference must cover
MODULES = (
    "physsamp",
    "physsamp.models",
    "physsamp.exact",
    "physsamp.lattice_exact",
    "physsamp.kernels",
    "physsamp.kernels.ais",
    "physsamp.kernels.block_gibbs",
    "physsamp.kernels.houdayer",
    "physsamp.kernels.parallel_tempering",
    "physsamp.kernels.swendsen_wang",
    "physsamp.infer",
    "physsamp.infer.ais",
    "physsamp.infer.block_gibbs",
    "physsamp.infer.exchange",
    "physsamp.infer.ground_states",
    "physsamp.infer.parallel_tempering",
    "physsamp.infer.swendsen_wang",
    "physsamp.train",
    "physsamp.diagnostics",
    "physsamp.distributed",
    "physsamp.plots",
    "physsamp.plots_tempering",
)


def public_names(module: types.ModuleType) -> list[str]:
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return [
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and (inspect.isfunction(value) or inspect.isclass(value))
        and value.__module__ == module.__name__
    ]


def resolve(name: str) -> Any:
    """The object a dotted name refers to, or None."""
    parts = name.split(".")
    for split in range(len(parts), 0, -1):
        try:
            value: Any = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        try:
            for part in parts[split:]:
                value = getattr(value, part)
        except AttributeError:
            return None
        return value
    return None


def check_coverage(app: Sphinx, env: Any) -> None:
    objects = env.get_domain("py").objects
    documented = {id(value) for value in map(resolve, objects) if value is not None}
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        if module_name not in objects:
            logger.warning("API reference: module %s is not documented", module_name)
        for name in public_names(module):
            full_name = f"{module_name}.{name}"
            value = getattr(module, name)
            if isinstance(value, types.ModuleType):
                found = value.__name__ in objects
            else:
                found = full_name in objects or id(value) in documented
            if not found:
                logger.warning("API reference: public name %s is not documented", full_name)


def canonical_name(value: Any) -> str | None:
    module = getattr(value, "__module__", None)
    qualname = getattr(value, "__qualname__", None)
    if not isinstance(module, str) or not isinstance(qualname, str) or "<" in qualname:
        return None
    return f"{module}.{qualname}"


def add_canonical_names(app: Sphinx, env: Any) -> None:
    """Registers, for every documented function, class, method and property, the name of its
    definition as an alias of its entry (when that name has no entry of its own)."""
    domain = env.get_domain("py")
    objects = domain.objects
    for name, entry in list(objects.items()):
        if entry.aliased or entry.objtype not in {
            "function",
            "class",
            "exception",
            "method",
            "classmethod",
            "staticmethod",
            "property",
        }:
            continue  # fmt: skip
        value = resolve(name)
        if isinstance(value, property):
            value = value.fget
        defined = canonical_name(value)
        if entry.objtype in {"method", "classmethod", "staticmethod", "property"}:
            # a method's name through its class's definition: Ising.lattice is defined in
            # physsamp.models.pairwise even when inherited or decorated
            owner = resolve(name.rsplit(".", 1)[0])
            owner_name = canonical_name(owner)
            if owner_name is not None:
                defined = f"{owner_name}.{name.rsplit('.', 1)[1]}"
        if defined is not None and defined != name and defined not in objects:
            objects[defined] = entry._replace(aliased=True)


def public_bases(app: Sphinx, name: str, obj: Any, options: Any, bases: list) -> None:
    """Replaces bases defined in private modules of physsamp by their own bases."""
    index = 0
    while index < len(bases):
        base = bases[index]
        module = getattr(base, "__module__", "")
        if module.startswith("physsamp") and any(
            part.startswith("_") for part in module.split(".")
        ):
            replacement = [b for b in base.__bases__ if b is not object and b not in bases]
            bases[index : index + 1] = replacement
            continue
        index += 1


def is_private(name: str) -> bool:
    return any(part.startswith("_") for part in name.split("."))


def defining_modules(node: nodes.Element) -> list[types.ModuleType]:
    """The modules whose namespace a reference in ``node`` belongs to: the module defining the
    docstring it comes from, and the module of the object the reference sits in."""
    names = []
    try:
        match = re.search(r"docstring of ([\w.]+)", get_node_source(node))
    except ValueError:
        match = None
    if match:
        names.append(match.group(1))
    for parent in _parents(node):
        if isinstance(parent, addnodes.desc_signature) and parent.get("fullname"):
            names.append(f"{parent.get('module')}.{parent['fullname']}")
    context = [node.get("py:module"), node.get("py:class")]
    names.append(".".join(part for part in context if part))
    modules = []
    for name in names:
        value = resolve(name) if name else None
        module_name = value.__name__ if isinstance(value, types.ModuleType) else None
        module_name = module_name or getattr(value, "__module__", None)
        if isinstance(module_name, str):
            module = importlib.import_module(module_name)
            if module not in modules:
                modules.append(module)
    return modules


def evaluate(target: str, module: types.ModuleType) -> Any:
    head, *rest = target.split(".")
    if head not in vars(module):
        return None
    value = vars(module)[head]
    try:
        for part in rest:
            value = getattr(value, part)
    except AttributeError:
        return None
    return value


def resolve_in_defining_module(
    app: Sphinx, env: Any, node: addnodes.pending_xref, contnode: nodes.Element
) -> nodes.Element | None:
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"]
    objects = env.get_domain("py").objects
    in_signature = any(isinstance(parent, addnodes.desc_signature) for parent in _parents(node))
    for module in defining_modules(node):
        parts = module.__name__.split(".")
        candidates = [".".join([*parts[:length], target]) for length in range(len(parts), 0, -1)]
        value = evaluate(target, module)
        if value is None and "." in target:
            value = resolve(target)  # an absolute name
        name = canonical_name(value) if value is not None else None
        if isinstance(value, types.ModuleType):
            name = value.__name__
        candidates.append(name)
        for candidate in candidates:
            if candidate in objects:
                entry = objects[candidate]
                return make_refnode(app.builder, node["refdoc"], entry.docname, entry.node_id,
                                    contnode, candidate)  # fmt: skip
        if in_signature and value is not None:
            origin = getattr(value, "__origin__", value)
            origin_name = canonical_name(origin) or getattr(origin, "__module__", "") or ""
            if not origin_name.startswith("physsamp") or is_private(origin_name):
                return contnode
    return None


def _parents(node: nodes.Node):
    while node.parent is not None:
        node = node.parent
        yield node


def _prose_attribute_docstring(self: GoogleDocstring) -> list[str]:
    """Napoleon's reading of an attribute's or property's docstring, without taking a type
    from its first line."""
    lines = self._dedent(self._consume_to_end())
    return self.__class__(lines, self._config).lines()


#: how JAX's array class prints inside annotations, and the public name to show instead
_ARRAY_PRINTED = re.compile(r"\bjaxlib\._jax\.(Array|ArrayImpl)\b")


def public_array_names(app: Sphinx, doctree: nodes.document) -> None:
    """Shows ``jax.Array`` wherever a signature or an attribute's type prints JAX's array
    class by its private name (jaxtyping annotations such as ``Float[Array, "sites"]``)."""
    for signature in doctree.findall(addnodes.desc_signature):
        for text in list(signature.findall(nodes.Text)):
            if _ARRAY_PRINTED.search(text.astext()):
                text.parent.replace(text, nodes.Text(_ARRAY_PRINTED.sub("jax.Array", text)))
        for reference in signature.findall(addnodes.pending_xref):
            target = reference.get("reftarget", "")
            reference["reftarget"] = _ARRAY_PRINTED.sub("jax.Array", target)


def drop_namedtuple_field_docstrings(
    app: Sphinx, what: str, name: str, obj: Any, options: Any, lines: list[str]
) -> None:
    """A NamedTuple field's own docstring is Python's "Alias for field number 0"; the class
    docstring describes the fields."""
    if len(lines) <= 2 and lines and re.fullmatch(r"Alias for field number \d+", lines[0]):
        lines.clear()


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("doctree-read", public_array_names)
    app.connect("autodoc-process-docstring", drop_namedtuple_field_docstrings)
    GoogleDocstring._parse_attribute_docstring = _prose_attribute_docstring  # type: ignore[method-assign]
    app.connect("missing-reference", resolve_in_defining_module)
    app.connect("env-check-consistency", check_coverage)
    app.connect("env-check-consistency", add_canonical_names)
    app.connect("autodoc-process-bases", public_bases)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
