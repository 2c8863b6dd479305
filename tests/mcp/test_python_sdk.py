"""The official Python MCP SDK (mcp 2.3.0) driving `scry mcp` over stdio on a fixture
workspace: what a Python agent host sees. Run by tests/mcp/run.sh."""

import os
import shutil
import tempfile
from contextlib import asynccontextmanager

import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

SCRY = os.environ["SCRY"]
FIXTURE = os.environ["SCRY_FIXTURE"]


@asynccontextmanager
async def session(*extra_args):
    """A fresh copy of the fixture and index, and an initialized client session."""
    work = tempfile.mkdtemp()
    try:
        ws = os.path.join(work, "ws")
        shutil.copytree(FIXTURE, ws)
        env = dict(os.environ, SCRY_INDEX_DIR=os.path.join(work, "index"))
        params = StdioServerParameters(
            command=SCRY, args=["--no-model", *extra_args, "-w", ws, "mcp"], env=env
        )
        async with stdio_client(params) as (r, w):
            async with ClientSession(r, w) as s:
                init = await s.initialize()
                yield s, init, ws
    finally:
        shutil.rmtree(work, ignore_errors=True)


async def test_initialize_advertises_tools_logging_and_instructions():
    async with session("--backend", "none") as (s, init, _):
        assert init.server_info.name == "scry"
        assert init.capabilities.tools is not None
        assert init.capabilities.logging is not None
        assert "get_context" in init.instructions


async def test_every_tool_has_schemas_and_read_only_annotations():
    async with session("--backend", "none") as (s, _, _):
        tools = (await s.list_tools()).tools
        assert [t.name for t in tools] == [
            "get_context", "search_code", "find_symbol", "read_range", "ask", "index_status",
        ]
        for t in tools:
            assert t.input_schema["type"] == "object", t.name
            assert t.output_schema["type"] == "object", t.name
            assert t.annotations.read_only_hint is True, t.name
            assert t.annotations.destructive_hint is False, t.name


async def test_tools_return_structured_content_for_the_fixture():
    async with session("--backend", "none") as (s, _, ws):
        r = await s.call_tool("search_code", {"query": "route_request", "k": 3})
        assert not r.is_error
        top = r.structured_content["hits"][0]
        assert top["path"] == "src/server.rs" and top["symbol"] == "route_request"
        assert top["stale"] is False

        r = await s.call_tool("get_context", {"query": "parse_config configuration parsing", "budget": 400})
        assert not r.is_error
        c = r.structured_content
        assert c["tokens"] <= 400 and "fn parse_config" in c["context"]
        assert any(src["path"] == "src/config.rs" for src in c["sources"])

        r = await s.call_tool("find_symbol", {"name": "rtreq"})
        assert r.structured_content["symbols"][0]["name"] == "route_request"

        r = await s.call_tool("read_range", {"path": "src/server.rs", "start_line": 4, "end_line": 4})
        assert r.structured_content["text"].startswith("pub fn route_request")

        r = await s.call_tool("index_status", {})
        st = r.structured_content
        assert st["files"] >= 3 and st["search_mode"] == "lexical" and st["role"] == "writer"

        # Edit a file on disk without reindexing: the hit is stale, read_range is current.
        path = os.path.join(ws, "src", "server.rs")
        with open(path, "a") as f:
            f.write("\n// edited after indexing\n")
        r = await s.call_tool("search_code", {"query": "route_request", "k": 3})
        hit = [h for h in r.structured_content["hits"] if h["path"] == "src/server.rs"][0]
        assert hit["stale"] is True


async def test_bad_input_is_a_tool_error_and_outside_paths_are_refused():
    async with session("--backend", "none") as (s, _, _):
        r = await s.call_tool("read_range", {"path": "../../etc/passwd"})
        assert r.is_error
        assert "root:x:0" not in str(r.content)
        r = await s.call_tool("search_code", {"query": "x", "k": 1000000000})
        assert r.is_error and "k must be within" in r.content[0].text
        with pytest.raises(Exception):
            await s.call_tool("no_such_tool", {})


async def test_pages_follow_the_cursor():
    async with session("--backend", "none") as (s, _, _):
        seen, cursor = [], None
        while True:
            args = {"query": "config request retry", "k": 1}
            if cursor:
                args["cursor"] = cursor
            r = await s.call_tool("search_code", args)
            page = r.structured_content
            seen += [(h["path"], h["start_line"]) for h in page["hits"]]
            cursor = page.get("next_cursor")
            if not cursor:
                break
        assert len(seen) >= 3 and len(seen) == len(set(seen))


async def test_ask_streams_an_answer_from_the_local_model_as_progress():
    # The setup script's SmolLM2 (found in the default models directory) answers.
    async with session() as (s, _, _):
        pieces = []

        async def on_progress(progress, total, message):
            if message:
                pieces.append(message)

        r = await s.call_tool(
            "ask", {"question": "What does route_request return for /health?", "budget": 1024},
            progress_callback=on_progress,
        )
        assert not r.is_error
        out = r.structured_content
        assert out["answered"] is True, out["notices"]
        assert len(pieces) >= 3
        assert "".join(pieces).strip() == out["answer"].strip()
        assert any(src["path"] == "src/server.rs" for src in out["sources"])
