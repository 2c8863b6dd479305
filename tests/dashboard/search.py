"""Searches through the official Python MCP SDK (streamable HTTP, bearer token): the
agent side of the dashboard's end-to-end test. usage: python search.py URL TOKEN QUERY..."""

import asyncio
import sys

from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client


async def main(url, token, queries):
    async with create_mcp_http_client(headers={"Authorization": f"Bearer {token}"}) as http:
        async with streamable_http_client(url, http_client=http) as (read, write, *_):
            async with ClientSession(read, write) as s:
                await s.initialize()
                for q in queries:
                    r = await s.call_tool("search_code", {"query": q, "k": 5})
                    assert not r.is_error, r
                    assert r.structured_content["hits"], f"no hits for {q!r}"


asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3:]))
