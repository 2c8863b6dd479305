-- :Scry {search|ask|status|reindex} and the health check. The work lives in lua/scry/.
if vim.g.loaded_scry then
  return
end
vim.g.loaded_scry = true

local subcommands = { 'search', 'ask', 'status', 'reindex' }

vim.api.nvim_create_user_command('Scry', function(cmd)
  local sub = cmd.fargs[1]
  local rest = vim.trim(cmd.args:sub(#(sub or '') + 1))
  local scry = require('scry')
  if sub == 'search' then
    scry.search(rest, { picker = cmd.bang and 'select' or nil })
  elseif sub == 'ask' then
    scry.ask(rest)
  elseif sub == 'status' then
    scry.status()
  elseif sub == 'reindex' then
    scry.reindex()
  else
    vim.notify('Scry: usage: :Scry search {query} | ask {question} | status | reindex', vim.log.levels.ERROR)
  end
end, {
  nargs = '+',
  bang = true,
  desc = 'Scry: search the workspace, ask about it, show status, reindex',
  complete = function(arg_lead, line)
    if line:match('^%s*Scry!?%s+%S*$') then
      return vim.tbl_filter(function(s)
        return s:find(arg_lead, 1, true) == 1
      end, subcommands)
    end
    return {}
  end,
})
