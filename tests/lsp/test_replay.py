"""Replays the recorded client capabilities of VS Code and Neovim against `scry lsp`.

pytest-lsp checks every server message against what the client declared (no
server-created progress for a client that cannot show it, and so on); its
warnings are errors here (pytest.ini).
"""

import os
import pathlib
import shutil
import tempfile

import pytest
import pytest_lsp
from lsprotocol import types as T
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "lsp-ws"
MODELS = pathlib.Path(os.environ["SCRY_MODELS"])

WORK = pathlib.Path(tempfile.mkdtemp(prefix="scry-replay-"))
WS = WORK / "ws"
shutil.copytree(FIXTURE, WS)
(WS / ".git").mkdir()
WS = WS.resolve()

SERVER = [
    os.environ["SCRY_BIN"],
    "lsp",
    "--index-dir",
    str(WORK / "index"),
    "--embed-model",
    str(MODELS / "all-MiniLM-L6-v2-f16.gguf"),
    "--chat-model",
    str(MODELS / "SmolLM2-135M-Instruct.Q4_1.gguf"),
]

CLIENTS = ["visual-studio-code", "neovim@v0.11.0", "neovim@v0.10.0"]


def uri(rel: str) -> str:
    return (WS / rel).as_uri()


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER), params=CLIENTS)
async def client(lsp_client: LanguageClient, request):
    caps = client_capabilities(request.param)
    result = await lsp_client.initialize_session(
        T.InitializeParams(
            capabilities=caps,
            root_uri=WS.as_uri(),
            workspace_folders=[T.WorkspaceFolder(uri=WS.as_uri(), name="ws")],
        )
    )
    lsp_client.scry_init = result
    lsp_client.scry_client = request.param
    # Until the first indexing is done.
    for _ in range(600):
        status = await lsp_client.protocol.send_request_async("scry/status", {})
        if status.state == "ready":
            break
        await _sleep(0.05)
    yield
    await lsp_client.shutdown_session()


async def _sleep(s):
    import asyncio

    await asyncio.sleep(s)


def expected_encoding(name: str) -> str:
    offered = client_capabilities(name).general
    offered = (offered.position_encodings if offered else None) or []
    return "utf-8" if T.PositionEncodingKind.Utf8 in offered else "utf-16"


def columns(text: str, encoding: str) -> int:
    if encoding == "utf-8":
        return len(text.encode("utf-8"))
    return len(text.encode("utf-16-le")) // 2


async def test_capabilities_follow_the_client(client: LanguageClient):
    caps = client.scry_init.capabilities
    assert caps.position_encoding == expected_encoding(client.scry_client)
    sync = caps.text_document_sync
    assert sync.change == T.TextDocumentSyncKind.Incremental and sync.open_close
    assert caps.workspace_symbol_provider
    assert set(caps.execute_command_provider.commands) == {"scry.reindex", "scry.ask"}
    assert client.scry_init.server_info.name == "scry"


async def test_an_unsaved_edit_is_found_with_an_exact_range(client: LanguageClient):
    enc = expected_encoding(client.scry_client)
    path = "src/server.rs"
    text = (WS / path).read_text()
    client.text_document_did_open(
        T.DidOpenTextDocumentParams(
            text_document=T.TextDocumentItem(uri=uri(path), language_id="rust", version=1, text=text)
        )
    )
    # Typed at the end of the file, after an emoji on the same line.
    last = text.count("\n")
    insert = "/* 😀 𝄞 */ pub fn replay_unsaved_marker() {}\n"
    client.text_document_did_change(
        T.DidChangeTextDocumentParams(
            text_document=T.VersionedTextDocumentIdentifier(uri=uri(path), version=2),
            content_changes=[
                T.TextDocumentContentChangePartial(
                    range=T.Range(start=T.Position(line=last, character=0), end=T.Position(line=last, character=0)),
                    text=insert,
                )
            ],
        )
    )
    result = await client.protocol.send_request_async("scry/search", {"query": "replay_unsaved_marker", "k": 5})
    hit = result.hits[0]
    assert hit.uri == uri(path)
    assert hit.stale is False
    assert "replay_unsaved_marker" in hit.snippet
    symbols = await client.workspace_symbol_async(T.WorkspaceSymbolParams(query="replay_unsaved_marker"))
    sym = next(s for s in symbols if s.name == "replay_unsaved_marker")
    # The definition's range: its line, from the comment before it to the closing brace.
    start, end = sym.location.range.start, sym.location.range.end
    assert (start.line, start.character) == (last, 0), (start, enc)
    assert (end.line, end.character) == (last, columns(insert.rstrip("\n"), enc)), (end, enc)
    client.text_document_did_close(T.DidCloseTextDocumentParams(text_document=T.TextDocumentIdentifier(uri=uri(path))))


async def test_workspace_symbol_is_fuzzy(client: LanguageClient):
    symbols = await client.workspace_symbol_async(T.WorkspaceSymbolParams(query="rtreq"))
    assert symbols[0].name == "route_request"
    assert symbols[0].kind == T.SymbolKind.Function
    assert symbols[0].location.uri == uri("src/server.rs")


async def test_search_context_and_status(client: LanguageClient):
    status = await client.protocol.send_request_async("scry/status", {})
    assert status.state == "ready" and status.mode == "hybrid" and status.files == 4
    result = await client.protocol.send_request_async("scry/search", {"query": "how are failed calls retried"})
    assert any("retry_with_backoff" in (h.snippet or "") for h in result.hits[:3])
    assert result.mode == "hybrid"
    ctx = await client.protocol.send_request_async("scry/context", {"query": "parse configuration", "budget": 300})
    assert ctx.tokens <= 300
    assert any(s.uri == uri("src/config.rs") for s in ctx.sources)


async def test_reindex_reports_progress_on_the_clients_token(client: LanguageClient):
    token = f"reindex-{client.scry_client}"
    client.progress_reports.setdefault(token, [])
    (WS / "src" / f"extra_{client.scry_client.replace('@', '_').replace('.', '_')}.rs").write_text("pub fn added_later() {}\n")
    r = await client.workspace_execute_command_async(
        T.ExecuteCommandParams(command="scry.reindex", work_done_token=token)
    )
    assert r["filesIndexed"] >= 1
    kinds = [type(v).__name__ for v in client.progress_reports[token]]
    assert kinds[0] == "WorkDoneProgressBegin" and kinds[-1] == "WorkDoneProgressEnd", kinds


async def test_ask_answers_with_sources(client: LanguageClient):
    token = f"ask-{client.scry_client}"
    client.progress_reports.setdefault(token, [])
    r = await client.protocol.send_request_async(
        "scry/ask",
        {"question": "What does parse_config do with comments?", "maxTokens": 16, "workDoneToken": token},
    )
    assert r.answer and r.model == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert any(s.uri == uri("src/config.rs") for s in r.sources)
    assert [type(v).__name__ for v in client.progress_reports[token]][-1] == "WorkDoneProgressEnd"


async def test_bad_input_is_an_error_not_a_crash(client: LanguageClient):
    from pygls.exceptions import JsonRpcInvalidParams

    with pytest.raises(JsonRpcInvalidParams):
        await client.protocol.send_request_async("scry/search", {"query": ""})
    status = await client.protocol.send_request_async("scry/status", {})
    assert status.state == "ready"
