-- A server that exits at start (RELIABILITY.md item 24): Neovim keeps working, the
-- user hears why, and :checkhealth scry still shows the binary, its version and the
-- log path. Run by tests/nvim/run.sh.
local ws = assert(arg[1])
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
-- An unknown flag: the binary prints its usage error and exits with status 2.
require('scry').setup({ cmd = { os.getenv('SCRY_BIN'), 'lsp', '--no-such-flag' } })

vim.cmd.edit(vim.fn.fnameescape(ws .. '/src/config.rs'))
-- Give the client time to start and see the server die.
vim.wait(3000, function()
  return false
end, 50)
check(#vim.lsp.get_clients({ name = 'scry' }) == 0, 'no scry client is left running')

local errors = {}
local orig = vim.notify
vim.notify = function(msg, level)
  table.insert(errors, { msg = msg, level = level })
end
vim.cmd('Scry search anything')
vim.notify = orig
check(errors[1] and errors[1].msg:find('checkhealth scry', 1, true), ':Scry points to :checkhealth scry', errors)

vim.cmd('checkhealth scry')
local health = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\n')
check(health:find('OK ' .. os.getenv('SCRY_BIN') .. ' (scry ', 1, true), 'checkhealth: binary path and version', health)
check(health:find('not attached', 1, true), 'checkhealth: says the server is not attached', health)
check(health:find('LSP log (server stderr): ', 1, true), 'checkhealth: log path', health)
local log = io.open(vim.lsp.get_log_path()):read('*a')
check(log:find('no-such-flag', 1, true) ~= nil, "the server's own error is in the LSP log", log:sub(-2000))
os.exit(failures == 0 and 0 or 1)
