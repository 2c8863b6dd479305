; Python definitions. Decorators come along through the `decorated_definition` wrapper.
(class_definition name: (_) @name) @definition.class
(function_definition name: (_) @name) @definition.function
; Module-level names bound by assignment (`DEFAULT_TIMEOUT = 30`, `Session = ...`).
(module (expression_statement (assignment left: (identifier) @name)) @definition.constant)
