DECLARE @rowsync_id int = OBJECT_ID(SUBSTRING(@t, 2, 2147483647), N'U');
SELECT c.name, COALESCE(TYPE_NAME(NULLIF(c.system_type_id, 240)), TYPE_NAME(c.user_type_id)), c.max_length, c.precision, c.scale, c.collation_name, CONVERT(int, c.is_nullable), CONVERT(int, c.is_identity), CONVERT(int, ISNULL(ic.key_ordinal, 0)), SCHEMA_NAME(o.schema_id), o.name
FROM sys.columns AS c
JOIN sys.objects AS o ON o.object_id = c.object_id
LEFT JOIN sys.indexes AS ix ON ix.object_id = c.object_id AND ix.is_primary_key = 1
LEFT JOIN sys.index_columns AS ic ON ic.object_id = ix.object_id AND ic.index_id = ix.index_id AND ic.column_id = c.column_id
WHERE c.object_id = @rowsync_id AND c.is_computed = 0 AND c.system_type_id <> 189
ORDER BY c.column_id;
