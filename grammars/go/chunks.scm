; Go definitions. A method's receiver is its scope.
(function_declaration name: (_) @name) @definition.function
(method_declaration receiver: (_) @scope name: (_) @name) @definition.method
(type_declaration (type_spec name: (_) @name type: (struct_type))) @definition.struct
(type_declaration (type_spec name: (_) @name type: (interface_type))) @definition.interface
(type_declaration (type_spec name: (_) @name)) @definition.type
