; Go definitions. A method's receiver is its scope.
(function_declaration name: (_) @name) @definition.function
(method_declaration receiver: (_) @scope name: (_) @name) @definition.method
(type_declaration (type_spec name: (_) @name type: (struct_type))) @definition.struct
(type_declaration (type_spec name: (_) @name type: (interface_type))) @definition.interface
(type_declaration (type_spec name: (_) @name)) @definition.type
; Package-level constants and variables, every name of a group.
(source_file (const_declaration (const_spec name: (identifier) @name)) @definition.constant)
(source_file (var_declaration (var_spec name: (identifier) @name)) @definition.constant)
