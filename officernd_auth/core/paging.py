"""Paging through OfficeRND lists: v2 cursors in the body, v1 cursors in a response header.

No HTTP library here: :func:`pages` takes the function that GETs a page (a session's or a
client's ``get``), :func:`async_pages` an async one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from typing import Any

__all__ = ["PAGE_SIZE", "async_pages", "first_query", "pages", "read_page", "with_progress"]

#: The API's largest page, per API version (v2 answers 400 above 50).
PAGE_SIZE = {"v1": 100, "v2": 50}


def pages(
    get: Callable[..., Any], path: str, params: Mapping[str, Any] | None, page_size: int
) -> Iterator[Any]:
    """Yield every item of the list at ``path``, page by page (see ``OfficeRNDSession.paginate``).

    Raises:
        requests.HTTPError: a page answered with an error status (``httpx.HTTPStatusError``
            for httpx).
        ValueError: the path does not answer with a list.
    """
    query = first_query(params, page_size)
    while True:
        response = get(path, params=query)
        response.raise_for_status()
        items, cursor = read_page(path, response.json(), response.headers)
        yield from items
        if cursor is None:
            return
        query.update(cursor)


async def async_pages(
    get: Callable[..., Awaitable[Any]],
    path: str,
    params: Mapping[str, Any] | None,
    page_size: int,
) -> AsyncIterator[Any]:
    """:func:`pages` for an async ``get`` (an ``httpx.AsyncClient``'s)."""
    query = first_query(params, page_size)
    while True:
        response = await get(path, params=query)
        response.raise_for_status()
        items, cursor = read_page(path, response.json(), response.headers)
        for item in items:
            yield item
        if cursor is None:
            return
        query.update(cursor)


def first_query(params: Mapping[str, Any] | None, page_size: int) -> dict[str, Any]:
    """The first page's query: the caller's filters and a page size."""
    query: dict[str, Any] = dict(params or {})
    query.setdefault("$limit", page_size)
    return query


def read_page(
    path: str, body: Any, headers: Mapping[str, str]
) -> tuple[list[Any], dict[str, str] | None]:
    """A page's items and the query parameter that asks for the next one (None: the last).

    v2 answers ``{"results": [...], "cursorNext": ...}``; v1 a list, its cursor in the
    ``rnd-cursor-next`` header.

    Raises:
        ValueError: the body is not a page of a list.
    """
    if isinstance(body, list):
        cursor = headers.get("rnd-cursor-next")
        return body, ({"$next": cursor} if cursor and body else None)
    if isinstance(body, dict) and isinstance(body.get("results"), list):
        results: list[Any] = body["results"]
        cursor = body.get("cursorNext")
        return results, ({"$cursorNext": cursor} if cursor and results else None)
    raise ValueError(
        f"{path!r} did not answer with a list (got {type(body).__name__}); "
        "paginate() is for list endpoints"
    )


def with_progress(items: Iterator[Any], path: str) -> Iterator[Any]:
    """``items`` behind a tqdm progress bar (``tqdm.auto``: a widget in Jupyter); without tqdm,
    a warning that says how to get it, and the items all the same."""
    try:
        from tqdm.auto import tqdm  # type: ignore[import-not-found, import-untyped, unused-ignore]
    except ImportError:
        import warnings

        warnings.warn(
            "progress=True needs tqdm: pip install tqdm (or 'officernd-auth[notebook]'); "
            "paging without a progress bar",
            UserWarning,
            stacklevel=3,
        )
        yield from items
        return
    from tqdm import autonotebook  # type: ignore[import-not-found, import-untyped, unused-ignore]

    # tqdm.auto imported it (its warning silenced); its tqdm is the one it chose.
    if autonotebook.tqdm.__module__ != "tqdm.notebook":
        with tqdm(items, desc=path, unit=" items") as bar:
            yield from bar
        return
    # In Jupyter: the widget is shown through a display handle and shown again at the end,
    # so that a saved or exported notebook, which keeps only the text of each display, reads
    # "members: 260 items" rather than the "0 items" of the moment it appeared.
    from IPython.display import display  # type: ignore[import-not-found, import-untyped, unused-ignore]

    with tqdm(items, desc=path, unit=" items", display=False) as bar:
        handle = display(bar.container, display_id=True)  # type: ignore[no-untyped-call, unused-ignore]
        try:
            yield from bar
        finally:
            bar.close()
            if handle is not None:
                handle.update(bar.container)
