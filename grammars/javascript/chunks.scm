; JavaScript definitions, including functions bound to names.
(function_declaration name: (_) @name) @definition.function
(generator_function_declaration name: (_) @name) @definition.function
(class_declaration name: (_) @name) @definition.class
(method_definition name: (_) @name) @definition.method
(lexical_declaration (variable_declarator name: (identifier) @name value: [(arrow_function) (function_expression) (class)])) @definition.function
(variable_declaration (variable_declarator name: (identifier) @name value: [(arrow_function) (function_expression) (class)])) @definition.function
; Module-level constants (`require` calls are imports, not definitions); a function
; value above is more specific and keeps its kind.
(program (lexical_declaration (variable_declarator name: (identifier) @name value: (_) @_value (#not-match? @_value "^require[(]"))) @definition.constant)
(program (export_statement declaration: (lexical_declaration (variable_declarator name: (identifier) @name value: (_) @_value (#not-match? @_value "^require[(]"))) @definition.constant))
; Re-exports from another module (`export { a, b as c } from "./x"`): names only, never chunks.
(export_statement (export_clause (export_specifier name: (_) @name)) source: (_)) @definition.reexport
