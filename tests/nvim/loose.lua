-- A file with no project marker above it (no .git, scry.toml…): the plugin falls back
-- to the file's directory with a notice instead of failing with "no workspace folder",
-- and :checkhealth scry shows files with parse problems. Run by tests/nvim/run.sh:
-- nvim --headless -u NONE -i NONE -l loose.lua DIR
local dir = assert(arg[1])
local failures = 0
local function check(cond, what, detail)
  io.stderr:write(('\n%s %s%s\n'):format(cond and 'ok  ' or 'FAIL', what, cond and '' or (': ' .. vim.inspect(detail))))
  if not cond then
    failures = failures + 1
  end
end

vim.opt.runtimepath:prepend(os.getenv('PLUGIN_DIR'))
vim.cmd('runtime plugin/scry.lua')
vim.cmd('filetype on')
require('scry').setup({ cmd = { os.getenv('SCRY_BIN'), 'lsp', '--no-model', '--index-dir', os.getenv('SCRY_TEST_INDEX') .. '-loose' } })

local notified = {}
local orig = vim.notify
vim.notify = function(msg, ...)
  table.insert(notified, msg)
  return orig(msg, ...)
end
vim.cmd.edit(vim.fn.fnameescape(dir .. '/notes.py'))
local buf = vim.api.nvim_get_current_buf()
local client
vim.wait(15000, function()
  client = vim.lsp.get_clients({ name = 'scry', bufnr = buf })[1]
  return client ~= nil and client.initialized
end, 20)
check(client ~= nil, 'the client attaches to a file with no project marker')
if not client then
  os.exit(1)
end
check(client.root_dir == dir, "the root is the file's directory", client.root_dir)
check(notified[1] and notified[1]:find('no project marker', 1, true), 'a notice says why', notified)
vim.notify = orig
vim.wait(30000, function()
  local r = client:request_sync('scry/status', vim.empty_dict(), 2000, buf)
  return r and r.result and r.result.state == 'ready'
end, 20)
local found
require('scry').search('loose_marker_function', {
  on_done = function(items)
    found = items
  end,
})
vim.wait(10000, function()
  return found ~= nil
end, 20)
check(found and found[1] and found[1].filename:match('notes%.py$'), ':Scry search works without a project marker', found)

vim.cmd('checkhealth scry')
local health = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\n')
check(health:find('chunking problems', 1, true) and health:find('broken.py', 1, true), 'checkhealth: shows files with parse problems', health)
for _, c in ipairs(vim.lsp.get_clients({ name = 'scry' })) do
  c:stop()
end
vim.wait(5000, function()
  return #vim.lsp.get_clients({ name = 'scry' }) == 0
end, 20)
os.exit(failures == 0 and 0 or 1)
