-- Scry's language server, for Neovim 0.11's `vim.lsp.enable('scry')`.
-- The binary is `vim.g.scry_path`, else $SCRY_PATH, else `scry` on $PATH;
-- `require('scry').setup()` can override any field.
local bin = vim.g.scry_path or vim.env.SCRY_PATH or 'scry'

---@type vim.lsp.Config
return {
  cmd = { bin, 'lsp' },
  -- No `filetypes`: Scry indexes every file in the workspace, so it serves every buffer.
  root_markers = { '.git', 'scry.toml', '.hg', '.jj' },
  workspace_required = false,
  capabilities = {
    general = { positionEncodings = { 'utf-8', 'utf-16' } },
  },
}
