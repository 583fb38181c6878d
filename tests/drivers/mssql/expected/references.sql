SELECT DISTINCT SCHEMA_NAME(r.schema_id), r.name FROM sys.foreign_keys AS fk
JOIN sys.objects AS r ON r.object_id = fk.referenced_object_id
WHERE fk.parent_object_id = OBJECT_ID(SUBSTRING(@t, 2, 2147483647), N'U') AND fk.referenced_object_id <> fk.parent_object_id;
