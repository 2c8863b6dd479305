; TSX definitions (the TypeScript query: the grammars share these node kinds).
(function_declaration name: (_) @name) @definition.function
(generator_function_declaration name: (_) @name) @definition.function
(function_signature name: (_) @name) @definition.function
(class_declaration name: (_) @name) @definition.class
(abstract_class_declaration name: (_) @name) @definition.class
(interface_declaration name: (_) @name) @definition.interface
(type_alias_declaration name: (_) @name) @definition.type
(enum_declaration name: (_) @name) @definition.enum
(internal_module name: (_) @name) @definition.module
(method_definition name: (_) @name) @definition.method
(method_signature name: (_) @name) @definition.method
(abstract_method_signature name: (_) @name) @definition.method
(lexical_declaration (variable_declarator name: (identifier) @name value: [(arrow_function) (function_expression) (class)])) @definition.function
; Functions bound to a property (`app.render = function render() {}`,
; `Router.prototype.use = function () {}`): how CommonJS-era code defines most of its
; API. The object is the scope; what `exports` or `module.exports` gets is a function.
; Module level only: inside a function body (`inst.parse = (v) => ...` in a
; constructor) they are the body's own parts.
(program (expression_statement (assignment_expression left: (member_expression object: (identifier) @_object property: (property_identifier) @name) right: [(arrow_function) (function_expression) (class)] (#eq? @_object "exports")) @definition.function))
(program (expression_statement (assignment_expression left: (member_expression object: (member_expression object: (identifier) @_module property: (property_identifier) @_exports) property: (property_identifier) @name) right: [(arrow_function) (function_expression) (class)] (#eq? @_module "module") (#eq? @_exports "exports")) @definition.function))
(program (expression_statement (assignment_expression left: (member_expression object: (_) @scope property: (property_identifier) @name) right: [(arrow_function) (function_expression) (class)]) @definition.method))
; Module-level constants (`export const $ZodType = $constructor(...)`; `require` calls
; are imports); a function value above is more specific and keeps its kind.
(program (lexical_declaration (variable_declarator name: (identifier) @name value: (_) @_value (#not-match? @_value "^require[(]"))) @definition.constant)
(program (export_statement declaration: (lexical_declaration (variable_declarator name: (identifier) @name value: (_) @_value (#not-match? @_value "^require[(]"))) @definition.constant))
; Re-exports from another module (`export { a, b as c } from "./x"`): names only, never chunks.
(export_statement (export_clause (export_specifier name: (_) @name)) source: (_)) @definition.reexport
