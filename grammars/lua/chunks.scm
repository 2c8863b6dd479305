; Lua definitions (`function M.f()`, `local function f()`, `function obj:m()`).
(function_declaration name: (_) @name) @definition.function
