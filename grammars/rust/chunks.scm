; Rust definitions. Functions inside impl/trait blocks become methods by nesting.
(function_item name: (_) @name) @definition.function
(function_signature_item name: (_) @name) @definition.function
(struct_item name: (_) @name) @definition.struct
(union_item name: (_) @name) @definition.struct
(enum_item name: (_) @name) @definition.enum
(trait_item name: (_) @name) @definition.trait
(impl_item type: (_) @name) @definition.impl
(mod_item name: (_) @name body: (_)) @definition.module
(macro_definition name: (_) @name) @definition.macro
(type_item name: (_) @name) @definition.type
(const_item name: (_) @name) @definition.constant
(static_item name: (_) @name) @definition.constant
; Public re-exports (`pub use a::B`, `pub use a::{B, c::D as E}`): names only, never chunks.
(use_declaration (visibility_modifier) argument: (identifier) @name) @definition.reexport
(use_declaration (visibility_modifier) argument: (scoped_identifier name: (identifier) @name)) @definition.reexport
(use_declaration (visibility_modifier) argument: (use_as_clause alias: (identifier) @name)) @definition.reexport
(use_declaration (visibility_modifier) argument: (scoped_use_list list: (use_list [(identifier) @name (scoped_identifier name: (identifier) @name) (use_as_clause alias: (identifier) @name)]))) @definition.reexport
(use_declaration (visibility_modifier) argument: (use_list [(identifier) @name (scoped_identifier name: (identifier) @name) (use_as_clause alias: (identifier) @name)])) @definition.reexport
