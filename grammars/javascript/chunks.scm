; JavaScript definitions, including functions bound to names.
(function_declaration name: (_) @name) @definition.function
(generator_function_declaration name: (_) @name) @definition.function
(class_declaration name: (_) @name) @definition.class
(method_definition name: (_) @name) @definition.method
(lexical_declaration (variable_declarator name: (identifier) @name value: [(arrow_function) (function_expression) (class)])) @definition.function
(variable_declaration (variable_declarator name: (identifier) @name value: [(arrow_function) (function_expression) (class)])) @definition.function
; Functions bound to a property (`app.render = function render() {}`,
; `Router.prototype.use = function () {}`): how CommonJS-era code defines most of its
; API. The object is the scope; what `exports` or `module.exports` gets is a function.
; Module level only: inside a function body (`inst.parse = (v) => ...` in a
; constructor) they are the body's own parts.
(program (expression_statement (assignment_expression left: (member_expression object: (identifier) @_object property: (property_identifier) @name) right: [(arrow_function) (function_expression) (class)] (#eq? @_object "exports")) @definition.function))
(program (expression_statement (assignment_expression left: (member_expression object: (member_expression object: (identifier) @_module property: (property_identifier) @_exports) property: (property_identifier) @name) right: [(arrow_function) (function_expression) (class)] (#eq? @_module "module") (#eq? @_exports "exports")) @definition.function))
(program (expression_statement (assignment_expression left: (member_expression object: (_) @scope property: (property_identifier) @name) right: [(arrow_function) (function_expression) (class)]) @definition.method))
; Module-level constants (`require` calls are imports, not definitions); a function
; value above is more specific and keeps its kind.
(program (lexical_declaration (variable_declarator name: (identifier) @name value: (_) @_value (#not-match? @_value "^require[(]"))) @definition.constant)
(program (export_statement declaration: (lexical_declaration (variable_declarator name: (identifier) @name value: (_) @_value (#not-match? @_value "^require[(]"))) @definition.constant))
; Re-exports from another module (`export { a, b as c } from "./x"`): names only, never chunks.
(export_statement (export_clause (export_specifier name: (_) @name)) source: (_)) @definition.reexport
