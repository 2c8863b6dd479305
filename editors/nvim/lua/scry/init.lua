-- Scry for Neovim: search, ask and status over the `scry lsp` server.
-- `setup()` is optional: `vim.lsp.enable('scry')` alone gives the server; these
-- functions back the :Scry command.
local M = {}

local levels = vim.log.levels

---@class scry.Config
local defaults = {
  --- Command that starts the server; nil keeps lsp/scry.lua's (`scry lsp`).
  cmd = nil,
  --- Call vim.lsp.enable('scry') in setup().
  enable = true,
  --- Results per search.
  k = 20,
  --- `quickfix` (the quickfix list) or `select` (vim.ui.select).
  picker = 'quickfix',
  ask = {
    --- `split` or `float`.
    window = 'split',
    --- Longest answer in tokens; nil: the server's default.
    max_tokens = nil,
    --- Prompt budget in tokens; nil: the server's default.
    budget = nil,
  },
}

M.config = vim.deepcopy(defaults)

--- State of the last search and answer, for tests and for scripting.
M.last_search = nil
M.last_ask = nil

---@param opts? scry.Config
function M.setup(opts)
  M.config = vim.tbl_deep_extend('force', vim.deepcopy(defaults), opts or {})
  if M.config.cmd then
    vim.lsp.config('scry', { cmd = M.config.cmd })
  end
  if M.config.enable then
    vim.lsp.enable('scry')
  end
end

local function notify(msg, level)
  vim.notify('Scry: ' .. msg, level or levels.INFO)
end

--- The scry client of this buffer, else any scry client.
---@return vim.lsp.Client?
function M.client()
  local c = vim.lsp.get_clients({ name = 'scry', bufnr = 0 })[1] or vim.lsp.get_clients({ name = 'scry' })[1]
  if not c then
    notify('no scry server is running (see :checkhealth scry)', levels.ERROR)
  end
  return c
end

local function rel(fname)
  return vim.fn.fnamemodify(fname, ':~:.')
end

--- One `{ uri, range }` as a quickfix item (filename, lnum, col in bytes).
local function to_item(loc, encoding)
  return vim.lsp.util.locations_to_items({ { uri = loc.uri, range = loc.range } }, encoding)[1]
end

--- Search hits as quickfix items, in rank order.
---@param hits table[]
---@param encoding string
function M.items(hits, encoding)
  local items = {}
  for _, h in ipairs(hits) do
    local item = to_item(h, encoding)
    if item then
      local first = vim.split(h.snippet or '', '\n', { plain = true })[1] or ''
      local label = h.symbol and (h.symbol .. ' (' .. h.kind .. ')') or h.kind
      item.text = label .. (h.stale and ' [stale]' or '') .. ': ' .. vim.trim(first)
      item.user_data = { score = h.score, generation = h.generation }
      table.insert(items, item)
    end
  end
  return items
end

local function jump(item)
  -- An open buffer (perhaps modified) is shown as it is; otherwise the file is loaded.
  local b = vim.fn.bufnr(item.filename)
  if b > 0 and vim.api.nvim_buf_is_loaded(b) then
    vim.api.nvim_win_set_buf(0, b)
  else
    vim.cmd.edit(vim.fn.fnameescape(item.filename))
  end
  pcall(vim.api.nvim_win_set_cursor, 0, { item.lnum, math.max(item.col - 1, 0) })
end

--- :Scry search {query}
---@param query string
---@param opts? { picker?: 'quickfix'|'select', on_done?: fun(items: table[]) }
function M.search(query, opts)
  opts = opts or {}
  query = vim.trim(query or '')
  if query == '' then
    return notify('usage: :Scry search {query}', levels.ERROR)
  end
  local c = M.client()
  if not c then
    return
  end
  c:request('scry/search', { query = query, k = M.config.k }, function(err, result)
    if err then
      return notify('search failed: ' .. err.message, levels.ERROR)
    end
    local items = M.items(result.hits, c.offset_encoding)
    M.last_search = { query = query, items = items, result = result }
    local title = 'Scry: ' .. query .. (result.notice and (' (' .. result.notice .. ')') or '')
    if #items == 0 then
      notify('nothing found for ' .. query, levels.WARN)
    elseif (opts.picker or M.config.picker) == 'select' then
      vim.ui.select(items, {
        prompt = title,
        format_item = function(i)
          return rel(i.filename) .. ':' .. i.lnum .. '  ' .. i.text
        end,
      }, function(choice)
        if choice then
          jump(choice)
        end
      end)
    else
      vim.fn.setqflist({}, ' ', { title = title, items = items })
      vim.cmd('botright copen')
    end
    if opts.on_done then
      opts.on_done(items)
    end
  end)
end

local ask_count = 0

--- A scratch buffer for answers, shown in a split or a float.
local function answer_window()
  local buf = vim.api.nvim_create_buf(false, true)
  vim.bo[buf].bufhidden = 'wipe'
  vim.bo[buf].filetype = 'markdown'
  if M.config.ask.window == 'float' then
    local width = math.floor(vim.o.columns * 0.7)
    local height = math.floor(vim.o.lines * 0.6)
    vim.api.nvim_open_win(buf, true, {
      relative = 'editor',
      width = width,
      height = height,
      row = math.floor((vim.o.lines - height) / 2),
      col = math.floor((vim.o.columns - width) / 2),
      border = 'rounded',
      title = ' Scry ',
    })
  else
    vim.cmd('botright split')
    vim.api.nvim_win_set_buf(0, buf)
  end
  vim.wo.wrap = true
  return buf
end

--- :Scry ask {question}: the answer streams into a scratch window; its sources follow
--- as lines that <CR> opens, and go to the quickfix list.
---@param question string
---@param opts? { on_done?: fun(state: table) }
function M.ask(question, opts)
  opts = opts or {}
  question = vim.trim(question or '')
  if question == '' then
    return notify('usage: :Scry ask {question}', levels.ERROR)
  end
  local c = M.client()
  if not c then
    return
  end
  ask_count = ask_count + 1
  local token = ('scry-ask-%d-%d'):format(vim.uv.os_getpid(), ask_count)
  -- The server reports reading the prompt on this one: minutes on a laptop CPU.
  local work_token = token .. '-work'
  local buf = answer_window()
  local header = { '# ' .. question, '' }
  local state = { question = question, pieces = 0, text = '', done = false, buf = buf, sources = {} }
  M.last_ask = state

  local function render(lines)
    if vim.api.nvim_buf_is_valid(buf) then
      vim.api.nvim_buf_set_lines(buf, #header, -1, false, lines)
    end
  end
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, header)
  render({ '(thinking…)' })

  local group = vim.api.nvim_create_augroup('scry_' .. token, { clear = true })
  vim.api.nvim_create_autocmd('LspProgress', {
    group = group,
    callback = function(ev)
      local p = ev.data and ev.data.params
      if state.done or not p or ev.data.client_id ~= c.id then
        return
      end
      if p.token == work_token then
        local v = p.value
        if state.pieces == 0 and type(v) == 'table' and v.kind == 'report' and v.message then
          state.reading = v.message
          render({ '(' .. v.message .. '…)' })
        end
        return
      end
      if p.token ~= token then
        return
      end
      if type(p.value) == 'table' and type(p.value.text) == 'string' then
        state.pieces = state.pieces + 1
        state.text = state.text .. p.value.text
        render(vim.split(state.text, '\n', { plain = true }))
      end
    end,
  })

  local params = {
    question = question,
    partialResultToken = token,
    workDoneToken = work_token,
    maxTokens = M.config.ask.max_tokens,
    budget = M.config.ask.budget,
  }
  c:request('scry/ask', params, function(err, result)
    state.done = true
    pcall(vim.api.nvim_del_augroup_by_id, group)
    if err then
      state.error = err.message
      render({ 'Error: ' .. err.message })
      return opts.on_done and opts.on_done(state)
    end
    local lines = {}
    if result.answer then
      state.text = result.answer
      vim.list_extend(lines, vim.split(result.answer, '\n', { plain = true }))
    else
      table.insert(lines, '*No model answered; the context Scry would have sent follows.*')
      table.insert(lines, '')
      vim.list_extend(lines, vim.split(result.context or '', '\n', { plain = true }))
    end
    for _, n in ipairs(result.notices or {}) do
      table.insert(lines, '')
      table.insert(lines, '> ' .. n)
    end
    table.insert(lines, '')
    table.insert(lines, '## Sources')
    local items = {}
    local by_line = {}
    for _, s in ipairs(result.sources or {}) do
      local item = to_item(s, c.offset_encoding)
      if item then
        item.text = (s.symbol or '') .. ' [' .. s.tier .. ']'
        table.insert(items, item)
        table.insert(lines, ('- %s:%d %s'):format(rel(item.filename), item.lnum, s.symbol or ''))
        by_line[#header + #lines] = item
      end
    end
    state.sources = items
    state.result = result
    render(lines)
    vim.fn.setqflist({}, ' ', { title = 'Scry sources: ' .. question, items = items })
    if vim.api.nvim_buf_is_valid(buf) then
      vim.keymap.set('n', '<CR>', function()
        local item = by_line[vim.api.nvim_win_get_cursor(0)[1]]
        if item then
          vim.cmd('wincmd p')
          jump(item)
        end
      end, { buffer = buf, desc = 'Scry: open this source' })
    end
    if opts.on_done then
      opts.on_done(state)
    end
  end)
end

--- Lines describing a `scry/status` result.
function M.format_status(s)
  local lines = {
    ('state: %s  (scry %s)'):format(s.state, s.version),
    'roots: ' .. table.concat(s.roots or {}, ', '),
    ('index: %d files, %d chunks, %d vectors, generation %d'):format(s.files, s.chunks, s.vectors, s.generation),
    'search: ' .. (s.mode == 'hybrid' and ('hybrid (' .. (s.embeddingModel or '?') .. ')') or 'BM25-only'),
  }
  if s.modelProblem then
    table.insert(lines, 'embedding model: ' .. s.modelProblem)
  end
  table.insert(lines, 'chat: ' .. (#(s.chatModels or {}) > 0 and table.concat(s.chatModels, '; ') or 'none'))
  if s.indexDir then
    table.insert(lines, 'index dir: ' .. s.indexDir)
  end
  if s.error then
    table.insert(lines, 'error: ' .. s.error)
  end
  return lines
end

--- :Scry status
function M.status()
  local c = M.client()
  if not c then
    return
  end
  c:request('scry/status', vim.empty_dict(), function(err, s)
    if err then
      return notify('status failed: ' .. err.message, levels.ERROR)
    end
    vim.notify(table.concat(M.format_status(s), '\n'), levels.INFO, { title = 'Scry' })
  end)
end

--- :Scry reindex
function M.reindex()
  local c = M.client()
  if not c then
    return
  end
  notify('reindexing…')
  c:request('workspace/executeCommand', { command = 'scry.reindex' }, function(err, r)
    if err then
      return notify('reindex failed: ' .. err.message, levels.ERROR)
    end
    notify(('reindexed: %d files indexed, %d removed, %d unchanged (%.1f s)'):format(
      r.filesIndexed,
      r.filesRemoved,
      r.filesUnchanged,
      r.seconds
    ))
  end)
end

return M
