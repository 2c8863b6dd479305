-- Headless Neovim 0.11 driving the Scry plugin against the real `scry lsp`.
-- Run by tests/nvim/run.sh: nvim --headless -u NONE -i NONE -l e2e.lua WORKSPACE
-- Env: SCRY_BIN, SCRY_TEST_INDEX, SCRY_TEST_CHAT_MODEL, SCRY_TEST_EMBED_MODEL, PLUGIN_DIR.
-- Exit 0 when every step passes; otherwise a message on stderr and exit 1.

local ws = assert(arg[1], 'usage: e2e.lua WORKSPACE')
local failures = 0

local function log(msg)
  io.stderr:write('\n' .. msg .. '\n')
end

local function check(cond, what, detail)
  if cond then
    log('ok   ' .. what)
  else
    failures = failures + 1
    log('FAIL ' .. what .. (detail and (': ' .. vim.inspect(detail)) or ''))
  end
  return cond
end

local function wait(ms, cond, what)
  local ok = vim.wait(ms, cond, 20)
  if not ok then
    log('FAIL timed out: ' .. what)
    failures = failures + 1
  end
  return ok
end

local function finish()
  for _, c in ipairs(vim.lsp.get_clients({ name = 'scry' })) do
    c:stop()
  end
  vim.wait(5000, function()
    return #vim.lsp.get_clients({ name = 'scry' }) == 0
  end, 20)
  log(failures == 0 and 'all steps passed' or (failures .. ' step(s) failed'))
  os.exit(failures == 0 and 0 or 1)
end

-- The plugin, loaded the way a plugin manager would.
vim.opt.runtimepath:prepend(os.getenv('PLUGIN_DIR'))
vim.cmd('runtime plugin/scry.lua')
vim.cmd('filetype on')

require('scry').setup({
  cmd = {
    os.getenv('SCRY_BIN'),
    'lsp',
    '--embed-model',
    os.getenv('SCRY_TEST_EMBED_MODEL'),
    '--index-dir',
    os.getenv('SCRY_TEST_INDEX'),
    '--chat-model',
    os.getenv('SCRY_TEST_CHAT_MODEL'),
  },
  ask = { max_tokens = 48 },
})

-- 1. Open a file: the server starts and indexes the workspace.
vim.cmd.edit(vim.fn.fnameescape(ws .. '/src/config.rs'))
local buf = vim.api.nvim_get_current_buf()
local client
wait(15000, function()
  client = vim.lsp.get_clients({ name = 'scry', bufnr = buf })[1]
  return client ~= nil and client.initialized
end, 'the scry client attaches to the buffer')
if not client then
  finish()
end
check(client.offset_encoding == 'utf-8', 'utf-8 positions negotiated', client.offset_encoding)
wait(30000, function()
  local r = client:request_sync('scry/status', vim.empty_dict(), 2000, buf)
  return r and r.result and r.result.state == 'ready'
end, 'the index is ready')

-- 2. Edit without saving; :Scry search finds the unsaved text.
local last = vim.api.nvim_buf_line_count(buf)
vim.api.nvim_buf_set_lines(buf, last, last, false, {
  '',
  '/// Written in the editor and never saved.',
  'pub fn unsaved_quasar_marker() -> u32 {',
  '    42',
  '}',
})
check(vim.bo[buf].modified, 'the buffer is modified, not saved')
local found
wait(10000, function()
  require('scry').search('unsaved_quasar_marker', {
    on_done = function(items)
      found = items
    end,
  })
  vim.wait(2000, function()
    return found ~= nil
  end, 10)
  local hit = found and found[1]
  if hit and hit.filename:match('config%.rs$') and vim.fn.getqflist()[1] then
    return true
  end
  found = nil
  return false
end, ':Scry search finds the unsaved function')
local qf = vim.fn.getqflist()
check(#qf > 0 and vim.api.nvim_buf_get_name(qf[1].bufnr):match('config%.rs$'), 'the quickfix list holds the hit', qf[1])
local disk = table.concat(vim.fn.readfile(ws .. '/src/config.rs'), '\n')
check(not disk:find('unsaved_quasar_marker'), 'nothing was written to disk')

-- The :Scry command itself (the same path, through the user command).
vim.fn.setqflist({}, 'r')
vim.cmd('Scry search retry backoff')
wait(10000, function()
  for _, e in ipairs(vim.fn.getqflist()) do
    if vim.api.nvim_buf_get_name(e.bufnr):match('server%.rs$') and e.text:find('retry_with_backoff', 1, true) then
      return true
    end
  end
  return false
end, ':Scry search retry backoff lists retry_with_backoff in src/server.rs')
vim.cmd('cclose')

-- 3. workspace/symbol through Neovim's own API.
local symbols
vim.lsp.buf.workspace_symbol('rtreq', {
  on_list = function(t)
    symbols = t.items
  end,
})
wait(10000, function()
  return symbols ~= nil
end, 'workspace/symbol answers')
check(
  symbols and symbols[1] and symbols[1].text:find('route_request', 1, true) ~= nil,
  'workspace/symbol finds route_request fuzzily',
  symbols and symbols[1]
)
local sym_unsaved
vim.lsp.buf.workspace_symbol('unsaved_quasar', {
  on_list = function(t)
    sym_unsaved = t.items
  end,
})
wait(10000, function()
  return sym_unsaved ~= nil
end, 'workspace/symbol answers for the unsaved symbol')
-- The whole definition: from its doc comment (the line after the blank one).
check(
  sym_unsaved and sym_unsaved[1] and sym_unsaved[1].lnum == last + 2,
  'the unsaved symbol starts at its doc comment',
  sym_unsaved and sym_unsaved[1]
)

-- 4. :Scry ask streams an answer from the test model, then lists sources.
vim.cmd('Scry ask What does parse_config do with comments?')
local state = require('scry').last_ask
wait(120000, function()
  return state and state.done
end, ':Scry ask finishes')
check(state and not state.error, 'the answer has no error', state and state.error)
check(state and state.pieces > 1, 'the answer streamed in pieces', state and state.pieces)
check(
  state and state.reading and state.reading:find('reading the question: %d+/%d+ tokens') ~= nil,
  'the window showed the prompt being read before the answer',
  state and state.reading
)
check(state and #vim.trim(state.text) > 0, 'the answer has text', state and state.text)
check(state and #state.sources > 0, 'the answer lists sources', state and state.sources)
local lines = state and vim.api.nvim_buf_get_lines(state.buf, 0, -1, false) or {}
local text = table.concat(lines, '\n')
check(text:find('## Sources', 1, true) and text:find('src/config.rs', 1, true), 'the window shows jumpable sources', lines)
-- <CR> on a source line opens it.
for i, l in ipairs(lines) do
  if l:match('^%- src/config%.rs:') then
    vim.api.nvim_set_current_win(vim.fn.bufwinid(state.buf))
    vim.api.nvim_win_set_cursor(0, { i, 0 })
    vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes('<CR>', true, false, true), 'x', false)
    local want = tonumber(l:match(':(%d+)'))
    local pos = vim.api.nvim_win_get_cursor(0)
    check(
      vim.api.nvim_buf_get_name(0):match('src/config%.rs$') and pos[1] == want and vim.api.nvim_get_current_win() ~= vim.fn.bufwinid(state.buf),
      '<CR> on a source opens it at its line',
      { vim.api.nvim_buf_get_name(0), pos, want }
    )
    break
  end
end

-- 5. :Scry status and :checkhealth scry.
local notified = {}
local orig_notify = vim.notify
vim.notify = function(msg, ...)
  table.insert(notified, msg)
  return orig_notify(msg, ...)
end
vim.cmd('Scry status')
wait(5000, function()
  return #notified > 0
end, ':Scry status reports')
check(notified[1] and notified[1]:find('state: ready', 1, true), ':Scry status says ready', notified[1])
vim.notify = orig_notify

vim.cmd('checkhealth scry')
local health = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\n')
check(health:find('OK ' .. os.getenv('SCRY_BIN'), 1, true), 'checkhealth: binary found with its version', health)
check(health:find('OK attached', 1, true), 'checkhealth: server attached', health)
check(health:find('OK index: ready', 1, true), 'checkhealth: index ready', health)
check(health:find('LSP log', 1, true), 'checkhealth: log path', health)
check(not health:find('ERROR', 1, true), 'checkhealth: no errors', health)
check(health:find('OK embedding model', 1, true), 'checkhealth: hybrid search with the embedding model', health)
log(health)

finish()
