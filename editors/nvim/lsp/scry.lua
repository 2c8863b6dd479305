-- Scry's language server, for Neovim 0.11's `vim.lsp.enable('scry')`.
-- The binary is `vim.g.scry_path`, else $SCRY_PATH, else `scry` on $PATH;
-- `require('scry').setup()` can override any field.
local bin = vim.g.scry_path or vim.env.SCRY_PATH or 'scry'
-- Directories already announced as roots without a project marker.
local announced = {}

---@type vim.lsp.Config
return {
  cmd = { bin, 'lsp' },
  -- No `filetypes`: Scry indexes every file in the workspace, so it serves every buffer.
  -- The project around the file (a `.git`, `scry.toml`, `.hg` or `.jj` above it); with
  -- none, the file's own directory, as the CLI uses the current one, and a notice.
  root_dir = function(bufnr, on_dir)
    local markers = { '.git', 'scry.toml', '.hg', '.jj' }
    local root = vim.fs.root(bufnr, markers)
    if root then
      return on_dir(root)
    end
    local name = vim.api.nvim_buf_get_name(bufnr)
    if name == '' or vim.bo[bufnr].buftype ~= '' then
      return
    end
    local dir = vim.fs.dirname(vim.fs.normalize(name))
    if announced[dir] then
      return on_dir(dir)
    end
    announced[dir] = true
    vim.notify(
      ('Scry: no project marker (%s) above this file; indexing its directory %s'):format(table.concat(markers, ', '), dir),
      vim.log.levels.INFO
    )
    on_dir(dir)
  end,
  workspace_required = false,
  capabilities = {
    general = { positionEncodings = { 'utf-8', 'utf-16' } },
  },
}
