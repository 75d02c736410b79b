"""The symbolic facts document: every fact a z3 variable, every model constraint a formula.

:class:`FactSpace` is built from a facts vocabulary (its types,
:class:`~ta_rules.rulesets._types.TypeEnv`), not from a ruleset: each field becomes a
:class:`~ta_rules.verify.values.Sym`. Money is a whole number of minor units of its currency
(the currency dimension's is the query's, USD limits are USD), never negative and with at
most 15 digits before the point; dates are day numbers from 1900-01-01 to 2999-12-31; a
decimal fact (a rate) has at most :data:`RATE_PLACES` places; strings are indexes of the
query's :class:`~ta_rules.verify.values.Strings` (a closed code set's field takes one of its
codes, a free code or text any literal the rules mention that fits it, or one of as many
unmentioned values as there are free facts); nullable facts have a presence flag; lists hold
at most K items (the bound). The vocabulary's bounds (minimum, maximum, lengths) and its
rules between fields (``exactly_one_of``, a list's ``at_most_one``) are formulas too.

:meth:`FactSpace.decode` turns a z3 model into a facts document that
:func:`ta_rules.parse_facts` accepts.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Final

import z3
from pydantic import BaseModel

from ta_rules.facts import MAX_DATE, MIN_DATE, TEXT_MAX_LENGTH
from ta_rules.money import MAX_INTEGER_DIGITS, minor_unit
from ta_rules.rulesets._types import T, TypeEnv
from ta_rules.verify.values import OTHER, TRUE, Strings, Sym, Unsupported
from ta_rules.vocabulary import CODE_MAX_LENGTH, CODE_PATTERN, FieldDef

__all__ = ["RATE_PLACES", "FactSpace", "Leaf", "flatten", "present_in"]

#: Decimal places of a decimal fact (an exchange rate) the solver may choose.
RATE_PLACES: Final = 6

@dataclasses.dataclass
class Leaf:
    """One scalar fact: its document path, kind, Sym and the variable behind it."""

    path: str
    t: T
    sym: Sym
    raw: Any
    scale: int = 1
    item: tuple[str, int] | None = None
    #: The optional objects and list items it is inside: ``inspection?``, ``payments[0]``.
    within: tuple[str, ...] = ()
    #: For strings: the longest value allowed (codes also match the code pattern).
    max_length: int = TEXT_MAX_LENGTH


class FactSpace:
    """A symbolic facts document for one query, built from a facts vocabulary.

    Args:
        strings: The string universe (literals of the rules; filled before the space).
        currency: The contract currency of the query (that of the vocabulary's currency
            dimension).
        bound: K, the most items a list holds.
        env: The rule-language types of the vocabulary (a ruleset's).
        prefix: Names z3 variables apart when one query has several documents.
    """

    def __init__(self, strings: Strings, currency: str, bound: int, env: TypeEnv,
                 prefix: str = "") -> None:
        self.strings, self.currency, self.bound, self.prefix = strings, currency, bound, prefix
        self.env = env
        if len(env.vocabulary.dimensions) > 1:
            raise Unsupported("a vocabulary with more than one currency dimension")
        self.leaves: list[Leaf] = []
        self.lists: dict[str, Sym] = {}
        self.objects: dict[str, Sym] = {}
        self._fixed: list[Any] = []
        self._free: list[Leaf] = []
        self._within: list[str] = []
        root = env.models.root
        self.roots: dict[str, Sym] = {
            name: self._make(name, t, self._field(root, name), None)
            for name, t in env.roots.items()}
        self._exactly_one(root, self.roots, TRUE)

    # building --------------------------------------------------------------------------
    def _field(self, model: type[BaseModel], name: str) -> FieldDef:
        record = self.env.vocabulary.record_map[self.env.models.record_of[model]]
        return record.by_name[name]

    def _var(self, path: str, sort: str) -> Any:
        name = self.prefix + path
        return z3.Bool(name) if sort == "bool" else z3.Int(name)

    def _presence(self, path: str, t: T) -> Any:
        return z3.Bool(f"{self.prefix}{path}?") if t.nullable else TRUE

    def _make(self, path: str, t: T, f: FieldDef, item: tuple[str, int] | None) -> Sym:
        k = t.kind
        if k == "object":
            assert t.model is not None
            scope = [f"{path}?"] if t.nullable else []
            self._within += scope
            model = t.model
            fields = {name: self._make(f"{path}.{name}", ft, self._field(model, name), item)
                      for name, ft in self.env.fields(model).items()}
            del self._within[len(self._within) - len(scope):]
            sym = Sym(t, self._presence(path, t), fields=fields)
            self._exactly_one(model, fields, sym.present)
            self.objects[path] = sym
            return sym
        if k == "list":
            return self._list(path, t, f)
        limit = (f.max_length if f.max_length is not None else TEXT_MAX_LENGTH) \
            if item is None or k != "str" else (f.item_max_length or TEXT_MAX_LENGTH)
        return self._scalar(path, t, f, item, limit)

    def _exactly_one(self, model: type[BaseModel], fields: Mapping[str, Sym],
                     present: Any) -> None:
        """The record's "exactly one of these fields is given" rules (when it is given)."""
        record = self.env.vocabulary.record_map[self.env.models.record_of[model]]
        for group in record.exactly_one_of:
            flags = [z3.If(fields[n].present, 1, 0) for n in group.fields if n in fields]
            self._fixed.append(z3.Implies(present, z3.Sum(flags) == 1))

    def _list(self, path: str, t: T, f: FieldDef) -> Sym:
        item_t = t.item or T("any")
        most = self.bound if f.max_length is None else min(self.bound, f.max_length)
        least = f.min_length or 0
        if least > most:
            raise Unsupported(f"{path} needs at least {least} items; the bound is {most}")
        length = z3.Int(f"{self.prefix}{path}#")
        self._fixed += [length >= least, length <= most]
        items = []
        for i in range(most):
            self._within.append(f"{path}[{i}]")
            items.append(self._make(f"{path}[{i}]", item_t, f, (path, i)))
            self._within.pop()
        sym = Sym(t, self._presence(path, t), items=items, length=length)
        self.lists[path] = sym
        if f.at_most_one is not None:
            field, value = f.at_most_one
            flags = [z3.And(sym.at(i), it.fields[field].present,
                            it.fields[field].val == self.strings.of(value))
                     for i, it in enumerate(items) if it.fields and field in it.fields]
            if len(flags) > 1:
                self._fixed.append(z3.AtMost(*flags, 1))
        return sym

    def _scalar(self, path: str, t: T, f: FieldDef, item: tuple[str, int] | None,
                limit: int) -> Sym:
        k, present = t.kind, self._presence(path, t)
        if k == "bool":
            v = self._var(path, "bool")
            return self._leaf(Leaf(path, t, Sym(t, present, v), v, item=item))
        raw = self._var(path, "int")
        if k in ("int", "date"):
            lo, hi = f.minimum, f.maximum
            if f.greater_than is not None:
                lo = max(lo if lo is not None else f.greater_than + 1, f.greater_than + 1)
            if k == "date":
                lo, hi = MIN_DATE.toordinal(), MAX_DATE.toordinal()
            if lo is not None:
                self._fixed.append(raw >= lo)
            if hi is not None:
                self._fixed.append(raw <= hi)
            return self._leaf(Leaf(path, t, Sym(t, present, raw, places=0), raw, item=item))
        if k == "money":
            cur = self.currency if t.dim in self.env.vocabulary.dimension_map else t.dim
            if cur is None:
                raise Unsupported(f"money of an unknown currency at {path}")
            scale = 10 ** minor_unit(cur)
            self._fixed += [raw >= 0, raw < 10 ** MAX_INTEGER_DIGITS * scale]
            sym = Sym(t, present, z3.ToReal(raw) / scale, cur=cur, places=minor_unit(cur))
            return self._leaf(Leaf(path, t, sym, raw, scale, item))
        if k == "decimal":
            return self._decimal(path, t, f, item, present, raw)
        if k == "str":
            leaf = Leaf(path, t, Sym(t, present, raw), raw, item=item, max_length=limit)
            if t.choices is not None:
                self._fixed.append(z3.Or([raw == self.strings.of(c)
                                          for c in sorted(t.choices)]))
            else:
                self._free.append(leaf)
            return self._leaf(leaf)
        raise Unsupported(f"a fact of kind {k} at {path}")

    def _decimal(self, path: str, t: T, f: FieldDef, item: tuple[str, int] | None,
                 present: Any, raw: Any) -> Sym:
        scale = 10 ** RATE_PLACES
        self._fixed += [raw >= 0, raw < 10 ** MAX_INTEGER_DIGITS * scale]
        if f.greater_than is not None:
            self._fixed.append(raw > f.greater_than * scale)
        if f.minimum is not None:
            self._fixed.append(raw >= f.minimum * scale)
        if f.maximum is not None:
            self._fixed.append(raw <= f.maximum * scale)
        return self._leaf(Leaf(path, t, Sym(t, present, z3.ToReal(raw) / scale,
                                        places=RATE_PLACES), raw, scale, item))

    def _leaf(self, leaf: Leaf) -> Sym:
        leaf.within = tuple(self._within)
        self.leaves.append(leaf)
        return leaf.sym

    def constraints(self, meaning: Callable[[Leaf], set[str] | None] | None = None
                    ) -> list[Any]:
        """What makes an assignment a valid document (call after encoding the rules).

        ``meaning``: for a free text or code fact, the literals it may take besides a
        value no rule mentions (None: any literal that fits it).
        """
        code = re.compile(CODE_PATTERN)
        # as many unmentioned codes as free facts: any pattern of equal and different ones
        others = [OTHER - j for j in range(len(self._free))]
        free = []
        for leaf in self._free:
            is_code = leaf.t.code is not None
            means = meaning(leaf) if meaning is not None else None
            allowed = [i for i, s in enumerate(self.strings.items)
                       if len(s) <= min(leaf.max_length, CODE_MAX_LENGTH if is_code else
                                        leaf.max_length)
                       and (code.fullmatch(s) if is_code else True)
                       and (means is None or s in means)]
            free.append(z3.Or([leaf.raw == i for i in allowed + others]))
        return [*self._fixed, *free]

    # reading a model -------------------------------------------------------------------
    def decode(self, model: Any) -> dict[str, Any]:
        """The facts document a z3 model stands for."""
        out = {}
        for name, t in self.env.roots.items():
            out[name] = self._decode(model, self.roots[name], t, name)
        return out

    def _decode(self, m: Any, sym: Sym, t: T, path: str) -> Any:
        if t.nullable and not z3.is_true(m.eval(sym.present, model_completion=True)):
            return None
        k = t.kind
        if k == "object":
            assert t.model is not None and sym.fields is not None
            return {f: self._decode(m, sym.fields[f], ft, f"{path}.{f}")
                    for f, ft in self.env.fields(t.model).items()}
        if k == "list":
            n = m.eval(sym.length, model_completion=True).as_long()
            item_t = t.item or T("any")
            return [self._decode(m, it, item_t, f"{path}[{i}]")
                    for i, it in enumerate((sym.items or [])[:n])]
        leaf = self._leaf_at(path)
        value = m.eval(leaf.raw, model_completion=True)
        return self._scalar_json(leaf, value)

    def _leaf_at(self, path: str) -> Leaf:
        if not hasattr(self, "_by_path"):
            self._by_path = {leaf.path: leaf for leaf in self.leaves}
        return self._by_path[path]

    def _scalar_json(self, leaf: Leaf, value: Any) -> Any:
        k = leaf.t.kind
        if k == "bool":
            return bool(z3.is_true(value))
        n = value.as_long()
        if k == "int":
            return n
        if k == "date":
            return dt.date.fromordinal(n).isoformat()
        if k == "money":
            places = len(str(leaf.scale)) - 1
            return {"amount": format(Decimal(n).scaleb(-places), "f"),
                    "currency": leaf.sym.cur}
        if k == "decimal":
            return format(Decimal(n).scaleb(-RATE_PLACES).normalize(), "f")
        return self.strings.text(n)

    def there(self, scope: str) -> Any:
        """Whether an optional object (``inspection?``) or list item (``payments[0]``) is there."""
        if scope.endswith("?"):
            return self.objects[scope[:-1]].present
        path, _, index = scope[:-1].rpartition("[")
        return self.lists[path].at(int(index))

    # pinning a document ----------------------------------------------------------------
    def same_as(self, flat: Mapping[str, Any]) -> dict[str, Any]:
        """For each leaf and list length, a z3 Bool: it has the value of ``flat``."""
        out: dict[str, Any] = {}
        for path, lst in self.lists.items():
            n = sum(1 for p in flat if p.startswith(path + "[") and p.endswith("]#"))
            out[path + "#"] = lst.length == int(flat.get(path + "#", n))
        for path, obj in self.objects.items():
            if obj.t.nullable:
                out[path + "?"] = obj.present == z3.BoolVal(flat.get(path + "?", False))
        self._unmentioned: dict[str, int] = {}
        for leaf in self.leaves:
            out[leaf.path] = self._same_leaf(leaf, flat.get(leaf.path))
        return out

    def index_of(self, text: str) -> int:
        """The index a string has in the document last pinned (:meth:`same_as`)."""
        index = self.strings.index.get(text)
        if index is None:
            unmentioned = self.__dict__.setdefault("_unmentioned", {})
            index = unmentioned.setdefault(text, OTHER - len(unmentioned))
        return index

    def pin(self, flat: Mapping[str, Any]) -> list[Any]:
        """Constraints that make the document exactly ``flat`` (a :func:`flatten` result)."""
        same = self.same_as(flat)
        out = [v for k, v in same.items() if k.endswith(("#", "?"))]
        for leaf in self.leaves:
            if all(present_in(w, flat) for w in leaf.within):
                out.append(same[leaf.path])
        return out

    def _same_leaf(self, leaf: Leaf, value: Any) -> Any:
        if value is None:
            return z3.Not(leaf.sym.present) if leaf.t.nullable else z3.BoolVal(False)
        k = leaf.t.kind
        if k == "bool":
            v: Any = leaf.raw == z3.BoolVal(bool(value))
        elif k == "int":
            v = leaf.raw == int(value)
        elif k == "date":
            v = leaf.raw == dt.date.fromisoformat(value).toordinal()
        elif k in ("money", "decimal"):
            amount = Decimal(value["amount"] if isinstance(value, dict) else value)
            n = amount * (leaf.scale if k == "money" else 10 ** RATE_PLACES)
            if n != n.to_integral_value():
                return z3.BoolVal(False)
            v = leaf.raw == int(n)
        else:
            index = self.strings.index.get(str(value))
            if index is None:  # unmentioned codes: equal ones share an index
                index = self._unmentioned.setdefault(str(value),
                                                     OTHER - len(self._unmentioned))
            v = leaf.raw == index
        return z3.And(leaf.sym.present, v)


def present_in(scope: str, flat: Mapping[str, Any]) -> bool:
    """Whether ``flat`` has an optional object (``inspection?``) or list item (``payments[0]``)."""
    if scope.endswith("?"):
        return bool(flat.get(scope))
    path, _, index = scope[:-1].rpartition("[")
    return int(index) < int(flat.get(path + "#", 0))


def flatten(doc: Mapping[str, Any], env: TypeEnv) -> dict[str, Any]:
    """A canonical facts document (of ``env``'s vocabulary) as {leaf path: value}.

    ``path#`` keys are list lengths, ``path?`` whether an optional object is given.
    """
    out: dict[str, Any] = {}

    def walk(path: str, value: Any, t: T) -> None:
        if t.kind == "object" and t.model is not None:
            if t.nullable:
                out[path + "?"] = value is not None
            if value is None:
                return
            for f, ft in env.fields(t.model).items():
                walk(f"{path}.{f}" if path else f, value.get(f), ft)
        elif t.kind == "list":
            items = value or []
            out[path + "#"] = len(items)
            for i, x in enumerate(items):
                walk(f"{path}[{i}]", x, t.item or T("any"))
        else:
            out[path] = value

    walk("", doc, T("object", model=env.models.root))
    return out
