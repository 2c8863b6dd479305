; Java definitions. Annotations live inside `modifiers`, so they come along.
(class_declaration name: (_) @name) @definition.class
(interface_declaration name: (_) @name) @definition.interface
(enum_declaration name: (_) @name) @definition.enum
(record_declaration name: (_) @name) @definition.class
(annotation_type_declaration name: (_) @name) @definition.interface
(method_declaration name: (_) @name) @definition.method
(constructor_declaration name: (_) @name) @definition.method
