; Python definitions. Decorators come along through the `decorated_definition` wrapper.
(class_definition name: (_) @name) @definition.class
(function_definition name: (_) @name) @definition.function
