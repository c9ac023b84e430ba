/*
 * sr_schemas.h — the Avro schemas of the schemas/ folder, compiled into the binary as
 * NUL-terminated JSON text, so that one executable carries its own contracts.
 */
#ifndef SR_SCHEMAS_H
#define SR_SCHEMAS_H

extern const char sr_schema_user_event[];
extern const char sr_schema_recommendation[];
extern const char sr_schema_model_chunk[];
extern const char sr_schema_model_manifest[];
extern const char sr_schema_user_state[];

#endif
