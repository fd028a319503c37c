"""What an operation may cost, checked before anything runs.

``OperationGuard`` is the schema's gate, in this order, all before a resolver is called (so an abusive
operation costs no provider call):

1. parsing: the document's size in bytes and in tokens (checked before the parser builds anything);
2. shape: depth, aliases and cost (below), and introspection where it is off. These run before GraphQL
   validation, whose cost grows with the document (overlapping-fields checks are quadratic);
3. GraphQL validation (cached per document, as ``strawberry.extensions.ValidationCache`` does);
4. scopes: the principal must hold what every root field of the operation needs (``schema.access``).

Each refusal is an error with ``extensions.code``: ``QUERY_TOO_LARGE``, ``TOO_MANY_TOKENS``,
``QUERY_TOO_DEEP``, ``TOO_MANY_ALIASES``, ``QUERY_TOO_COSTLY``, ``INTROSPECTION_DISABLED``, ``FORBIDDEN``.

Cost: every field costs 1 (``__typename`` nothing) times the number of times it will be resolved: a list
multiplies what is below it by its expected size, which is its ``first`` argument where it has one (on a
connection such as ``customers(first: 50)`` that size applies to its ``edges``), the number of
``representations`` for federation's ``_entities``, and ``default_list_size`` for any other list.
Introspection (``__schema``, ``__type``) costs 1: it is bounded by depth and by GraphQL's own
introspection-depth rule instead.

The limits come from the request's context (``context.limits``), so one schema serves apps configured
differently.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLSyntaxError,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SchemaMetaFieldDef,
    SelectionSetNode,
    Source,
    TokenKind,
    TypeMetaFieldDef,
    TypeNameMetaFieldDef,
    VariableNode,
    get_named_type,
    get_operation_ast,
)
from graphql.language import Lexer
from strawberry.extensions import SchemaExtension

from customer_graph.schema.access import forbidden, required_scopes

# Root fields that disclose the schema: refused when introspection is off. Federation's ``_service { sdl }``
# is the whole schema as text, so it goes with them (a router composes from schema.graphql instead).
SCHEMA_DISCLOSING_FIELDS = frozenset({"__schema", "__type", "_service"})


@dataclass(frozen=True, slots=True)
class Limits:
    """The protections of one app. Defaults suit a public endpoint; ``settings`` sets them from ``[limits]``
    and ``[server]``."""

    max_query_bytes: int = 32 * 1024
    max_tokens: int = 2_000
    # Our graph is at most six levels deep; the allowance is for introspection queries (GraphiQL's and
    # graphql-core's are 15 deep: nine levels of ``ofType``).
    max_depth: int = 16
    max_aliases: int = 50  # a batch of lookups by alias is a fair use; a hundred is not
    max_cost: int = 10_000
    default_list_size: int = 10
    introspection: bool = True
    # "Did you mean ...?" in error messages names fields and types: off, it cannot rebuild a hidden schema.
    field_suggestions: bool = True


DEFAULT_LIMITS = Limits()


def limits_of(context: Any) -> Limits:
    limits = getattr(context, "limits", None)
    return limits if isinstance(limits, Limits) else DEFAULT_LIMITS


def refusal(code: str, message: str, **extensions: Any) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code, **extensions})


# -- 1. size -------------------------------------------------------------------------------------------


def check_size(query: str, limits: Limits) -> GraphQLError | None:
    """The document's size in bytes and tokens, counted without building anything."""
    # A character is at most four bytes: most documents are judged without encoding them.
    if len(query) * 4 > limits.max_query_bytes:
        size = len(query.encode())
        if size > limits.max_query_bytes:
            return refusal(
                "QUERY_TOO_LARGE",
                f"the query is {size} bytes; at most {limits.max_query_bytes} are accepted",
                limit=limits.max_query_bytes,
            )
    # Every token is at least one character, so a short document cannot have too many.
    if len(query) > limits.max_tokens and count_tokens(query, limits.max_tokens + 1) > limits.max_tokens:
        return refusal(
            "TOO_MANY_TOKENS", f"the query has more than {limits.max_tokens} tokens", limit=limits.max_tokens
        )
    return None


def count_tokens(query: str, stop_at: int) -> int:
    """Tokens in the document (comments excluded), counting no further than ``stop_at``; a lexing error ends
    the count (the parser will report it)."""
    lexer = Lexer(Source(query))
    count = 0
    try:
        while count < stop_at and lexer.advance().kind is not TokenKind.EOF:
            count += 1
    except GraphQLSyntaxError:
        pass
    return count


# -- 2. shape ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Shape:
    depth: int
    aliases: int
    cost: int
    root_fields: frozenset[str]


def measure(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any] | None,
    default_list_size: int,
) -> Shape:
    return _Measure(schema, document, variables or {}, default_list_size).operation(operation)


_SHAPES: OrderedDict[tuple[Any, ...], Shape] = OrderedDict()
_SHAPES_KEPT = 512


def measure_cached(
    schema: GraphQLSchema,
    query: str | None,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any] | None,
    default_list_size: int,
) -> Shape:
    """``measure``, remembered by the query text and what of the variables a shape can depend on (the integers
    and list lengths): the same query with the same page size is measured once."""
    if query is None:
        return measure(schema, document, operation, variables, default_list_size)
    used = tuple(
        sorted(
            (name, value if isinstance(value, int) else len(value) if isinstance(value, list) else None)
            for name, value in (variables or {}).items()
        )
    )
    key = (id(schema), query, operation.name.value if operation.name else None, default_list_size, used)
    shape = _SHAPES.get(key)
    if shape is None:
        shape = _SHAPES[key] = measure(schema, document, operation, variables, default_list_size)
        if len(_SHAPES) > _SHAPES_KEPT:
            _SHAPES.popitem(last=False)
    else:
        _SHAPES.move_to_end(key)
    return shape


@dataclass(frozen=True, slots=True)
class _Tally:
    depth: int = 0
    aliases: int = 0
    cost: int = 0


_NOTHING = _Tally()


class _Measure:
    """One walk over the operation with the schema's types. Fragments are measured once each (a document that
    spreads a fragment twice in every one of twenty fragments must not cost 2**20 steps to measure), and a
    fragment cycle (invalid; validation reports it later) counts as nothing."""

    def __init__(
        self, schema: GraphQLSchema, document: DocumentNode, variables: Mapping[str, Any], default_list_size: int
    ) -> None:
        self.schema = schema
        self.variables = variables
        self.default_list_size = default_list_size
        self.fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        self.memo: dict[tuple[str, bool], _Tally] = {}
        self.active: set[str] = set()

    def operation(self, operation: OperationDefinitionNode) -> Shape:
        root = self.schema.get_root_type(operation.operation)
        tally = self.selections(operation.selection_set, root, in_connection=False)
        return Shape(tally.depth, tally.aliases, tally.cost, frozenset(self.root_fields(operation.selection_set)))

    def root_fields(self, selection_set: SelectionSetNode, seen: frozenset[str] = frozenset()) -> Iterator[str]:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                yield selection.name.value
            elif isinstance(selection, InlineFragmentNode):
                yield from self.root_fields(selection.selection_set, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is not None and name not in seen:
                    yield from self.root_fields(fragment.selection_set, seen | {name})

    def selections(
        self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType | None, in_connection: bool
    ) -> _Tally:
        if selection_set is None:
            return _NOTHING
        depth = aliases = cost = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                tally = self.field(selection, parent, in_connection)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                scope = self.schema.get_type(condition.name.value) if condition is not None else parent
                tally = self.selections(selection.selection_set, scope, in_connection)
            elif isinstance(selection, FragmentSpreadNode):
                tally = self.fragment(selection.name.value, in_connection)
            else:  # pragma: no cover - no other selection kinds exist
                continue
            depth = max(depth, tally.depth)
            aliases += tally.aliases
            cost += tally.cost
        return _Tally(depth, aliases, cost)

    def fragment(self, name: str, in_connection: bool) -> _Tally:
        key = (name, in_connection)
        if key in self.memo:
            return self.memo[key]
        definition = self.fragments.get(name)
        if definition is None or name in self.active:
            return _NOTHING
        self.active.add(name)
        try:
            condition = self.schema.get_type(definition.type_condition.name.value)
            tally = self.selections(definition.selection_set, condition, in_connection)
        finally:
            self.active.discard(name)
        self.memo[key] = tally
        return tally

    def field(self, node: FieldNode, parent: GraphQLNamedType | None, in_connection: bool) -> _Tally:
        name = node.name.value
        alias = 1 if node.alias is not None else 0
        definition = _field_definition(self.schema, parent, name)
        field_type = definition.type if definition is not None else None
        if isinstance(field_type, GraphQLNonNull):
            field_type = field_type.of_type
        is_list = isinstance(field_type, GraphQLList)
        named = get_named_type(field_type) if field_type is not None else None
        first = self.argument(node, "first", definition)
        if is_list and in_connection:
            size = 1  # a connection's edges: already counted by its ``first``
        elif first is not None:
            size = max(first, 0)
        elif name == "_entities":
            size = self.list_length(node, "representations")
        elif is_list:
            size = self.default_list_size
        else:
            size = 1
        below = self.selections(node.selection_set, named, in_connection=first is not None and not is_list)
        if name in ("__schema", "__type"):
            return _Tally(1 + below.depth, alias + below.aliases, 1)
        weight = 0 if name == "__typename" else 1
        return _Tally(1 + below.depth, alias + below.aliases, weight + size * below.cost)

    def argument(self, node: FieldNode, name: str, definition: GraphQLField | None) -> int | None:
        for argument in node.arguments or ():
            if argument.name.value != name:
                continue
            value = argument.value
            if isinstance(value, IntValueNode):
                return int(value.value)
            if isinstance(value, VariableNode):
                given = self.variables.get(value.name.value)
                if isinstance(given, int) and not isinstance(given, bool):
                    return given
            break
        if definition is not None and name in definition.args:
            default = definition.args[name].default_value
            if isinstance(default, int) and not isinstance(default, bool):
                return default
        return None

    def list_length(self, node: FieldNode, name: str) -> int:
        for argument in node.arguments or ():
            if argument.name.value == name:
                value = argument.value
                if isinstance(value, ListValueNode):
                    return len(value.values)
                if isinstance(value, VariableNode):
                    given = self.variables.get(value.name.value)
                    if isinstance(given, list):
                        return len(given)
        return self.default_list_size


def _field_definition(schema: GraphQLSchema, parent: GraphQLNamedType | None, name: str) -> GraphQLField | None:
    if name == "__typename":
        return TypeNameMetaFieldDef
    if parent is not None and parent is schema.query_type:
        if name == "__schema":
            return SchemaMetaFieldDef
        if name == "__type":
            return TypeMetaFieldDef
    if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
        found: GraphQLField | None = parent.fields.get(name)
        return found
    return None


def check_shape(shape: Shape, limits: Limits) -> list[GraphQLError]:
    errors = []
    if not limits.introspection and shape.root_fields & SCHEMA_DISCLOSING_FIELDS:
        errors.append(refusal("INTROSPECTION_DISABLED", "introspection is disabled on this server"))
    if shape.depth > limits.max_depth:
        errors.append(
            refusal(
                "QUERY_TOO_DEEP",
                f"the query is {shape.depth} levels deep; at most {limits.max_depth} are allowed",
                depth=shape.depth,
                limit=limits.max_depth,
            )
        )
    if shape.aliases > limits.max_aliases:
        errors.append(
            refusal(
                "TOO_MANY_ALIASES",
                f"the query has {shape.aliases} aliases; at most {limits.max_aliases} are allowed",
                aliases=shape.aliases,
                limit=limits.max_aliases,
            )
        )
    if shape.cost > limits.max_cost:
        errors.append(
            refusal(
                "QUERY_TOO_COSTLY",
                f"the query costs {shape.cost}; at most {limits.max_cost} is "
                "allowed (lists count once per expected item: lower `first`, or split the query)",
                cost=shape.cost,
                limit=limits.max_cost,
            )
        )
    return errors


# -- 3. validation, cached -----------------------------------------------------------------------------


@lru_cache(maxsize=256)
def _validate(schema: GraphQLSchema, document: DocumentNode, rules: tuple[type, ...]) -> list[GraphQLError]:
    from strawberry.schema.schema import validate_document  # not at import time: strawberry imports its extensions

    return validate_document(schema, document, rules)


# -- the extension ---------------------------------------------------------------------------------------


class OperationGuard(SchemaExtension):
    """Size, shape, validation and scopes, before execution. It runs GraphQL validation itself (cached), so it
    replaces ``ValidationCache`` and must come before ``ParserCache`` in the schema's extensions."""

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.query is not None and context.graphql_document is None:
            error = check_size(context.query, limits_of(context.context))
            if error is not None:
                # Raised, not returned: nothing after this may parse the document. Strawberry turns it into a
                # pre-execution error response.
                raise error
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        context.pre_execution_errors = self.check()
        yield

    def check(self) -> list[GraphQLError]:
        context = self.execution_context
        document = context.graphql_document
        assert document is not None
        schema = context.schema._schema
        limits = limits_of(context.context)
        operation = get_operation_ast(document, context.operation_name)
        if operation is None:  # several operations and no name: validation explains it
            return _validate(schema, document, tuple(context.validation_rules))
        shape = measure_cached(schema, context.query, document, operation, context.variables, limits.default_list_size)
        errors = check_shape(shape, limits)
        if errors:
            return errors
        errors = _validate(schema, document, tuple(context.validation_rules))
        if errors:
            return list(errors)
        principal = getattr(context.context, "principal", None)
        held = principal.scopes if principal is not None else frozenset()
        missing = required_scopes(operation.operation.value, shape.root_fields) - held
        return [forbidden(missing)] if missing else []
