-- :checkhealth scry — the binary, the server, the index, the models, the logs.
local M = {}

local h = vim.health

function M.check()
  h.start('scry: binary')
  local cfg = vim.lsp.config.scry
  local cmd = cfg and cfg.cmd
  local bin = type(cmd) == 'table' and cmd[1] or nil
  if not bin then
    h.error('no `scry` server configuration', { 'Put editors/nvim on your runtimepath and call vim.lsp.enable("scry")' })
    return
  end
  local path = vim.fn.exepath(bin)
  if path == '' then
    h.error(('`%s` not found'):format(bin), {
      'Install scry (scripts/setup.sh builds it) and put it on $PATH',
      'or set vim.g.scry_path / $SCRY_PATH, or require("scry").setup({ cmd = { "/path/to/scry", "lsp" } })',
    })
  else
    local ok, out = pcall(function()
      return vim.system({ path, '--version' }, { text = true }):wait(5000)
    end)
    if ok and out.code == 0 then
      h.ok(('%s (%s)'):format(path, vim.trim(out.stdout)))
    else
      h.error(('%s does not run: %s'):format(path, ok and vim.trim(out.stderr or '') or tostring(out)))
    end
  end

  h.start('scry: server')
  local clients = vim.lsp.get_clients({ name = 'scry' })
  if #clients == 0 then
    h.warn('not attached to any buffer', {
      'Open a file inside a project (a .git or scry.toml marks the root)',
      'Make sure vim.lsp.enable("scry") (or require("scry").setup()) ran',
    })
  end
  for _, c in ipairs(clients) do
    h.ok(('attached: client %d, root %s, position encoding %s'):format(c.id, c.root_dir or '(none)', c.offset_encoding))
    local r = c:request_sync('scry/status', vim.empty_dict(), 5000)
    if not r or r.err then
      h.error('scry/status failed: ' .. (r and r.err and r.err.message or 'timeout'))
    else
      local s = r.result
      if s.state == 'ready' then
        h.ok(('index: ready, %d files, %d chunks, generation %d (%s)'):format(s.files, s.chunks, s.generation, s.indexDir or '?'))
      elseif s.state == 'indexing' or s.state == 'starting' then
        h.info(('index: %s, %d files so far'):format(s.state, s.files))
      elseif s.state == 'noWorkspace' then
        h.warn('no workspace folder: open a file inside a project')
      else
        h.error('index: ' .. (s.error or s.state))
      end
      if (s.problems or 0) > 0 then
        local lines = {}
        for _, f in ipairs(s.problemFiles or {}) do
          table.insert(lines, f.path .. ': ' .. table.concat(f.problems, '; '))
        end
        h.warn(('%d file(s) have chunking problems; where they fail to parse they are indexed as line windows, without definitions'):format(s.problems), lines)
      end
      if s.mode == 'hybrid' then
        h.ok('embedding model: ' .. (s.embeddingModel or '?'))
      else
        h.warn('search is BM25-only: ' .. (s.modelProblem or 'no embedding model'), {
          'Run scripts/setup.sh, or `scry models pull`, or pass --embed-model in the server command',
        })
      end
      if #(s.chatModels or {}) > 0 then
        h.ok('chat models: ' .. table.concat(s.chatModels, '; '))
      else
        h.warn(':Scry ask has no chat model: it returns the packed context instead')
      end
      if s.logFile then
        h.ok('scry log file: ' .. s.logFile)
      end
    end
  end

  h.start('scry: logs')
  h.ok('LSP log (server stderr): ' .. vim.lsp.get_log_path())
end

return M
