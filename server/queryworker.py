"""Running one SPARQL query on Oxigraph, capped; and the process that runs them, so it can be killed."""

from __future__ import annotations

from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from .answers import boolean_answer, graph_answer, solutions_answer
from .snapshots import SnapshotReader
from .sparql import (
    EndpointUnavailable,
    QueryAnswer,
    QueryProblem,
    QueryRequest,
    QuerySyntaxError,
    uses_dataset_clause,
)

_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"


def execute(store: ox.Store, request: QueryRequest) -> QueryAnswer:
    """Run a read-only query and serialise at most ``max_rows`` rows or triples of its answer."""
    options: dict[str, Any] = {}
    if request.default_graphs:
        options["default_graph"] = [ox.NamedNode(g) for g in request.default_graphs]
    elif not uses_dataset_clause(request.query):
        # The union flag would override a FROM clause, so it is only set when there is none.
        options["use_default_graph_as_union"] = True
    if request.named_graphs:
        options["named_graphs"] = [ox.NamedNode(g) for g in request.named_graphs]
    try:
        result = store.query(request.query, **options)
        if isinstance(result, ox.QueryBoolean):
            return boolean_answer(bool(result), request)
        if isinstance(result, ox.QuerySolutions):
            return _solutions(result, request)
        return graph_answer(result, request)
    except SyntaxError as exc:
        raise QuerySyntaxError(str(exc)) from None
    except ValueError as exc:
        raise QuerySyntaxError(str(exc)) from None


def _solutions(result: ox.QuerySolutions, request: QueryRequest) -> QueryAnswer:
    names = [variable.value for variable in result.variables]
    rows = ({name: _term(solution[name]) for name in names if solution[name] is not None} for solution in result)
    return solutions_answer(names, rows, request)


def _term(term: Any) -> dict[str, Any]:
    """Write one RDF term as SPARQL 1.1 Query Results JSON."""
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Literal):
        out: dict[str, Any] = {"type": "literal", "value": term.value}
        if term.language:
            out["xml:lang"] = term.language
        elif term.datatype.value not in (_XSD_STRING, _LANG_STRING):
            out["datatype"] = term.datatype.value
        return out
    return {
        "type": "triple",
        "value": {
            "subject": _term(term.subject),
            "predicate": _term(term.predicate),
            "object": _term(term.object),
        },
    }


def serve(conn: Connection, root: str) -> None:
    """Answer queries from the pipe until it closes, on the newest published snapshot."""
    reader = SnapshotReader(Path(root))
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        try:
            store = reader.store()
            if store is None:
                raise EndpointUnavailable(
                    "the triple store is not built yet: load trials, or run `trialpub reindex`"
                )
            reply: tuple[str, Any] = ("ok", execute(store, request))
        except QueryProblem as exc:
            reply = ("problem", exc)
        except Exception as exc:
            reply = ("error", f"{type(exc).__name__}: {exc}")
        try:
            conn.send(reply)
        except (EOFError, OSError):
            return


if __name__ == "__main__":
    import sys

    serve(Connection(int(sys.argv[1])), sys.argv[2])
