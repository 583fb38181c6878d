DECLARE @rowsync_k nvarchar(450) = SUBSTRING(@k, 2, 2147483647), @rowsync_v nvarchar(1024) = SUBSTRING(@v, 2, 2147483647);
UPDATE [rowsync].[state] SET value = @rowsync_v, updated_us = DATEDIFF_BIG(MICROSECOND, CAST('1970-01-01' AS datetime2(7)), SYSUTCDATETIME()) WHERE name = @rowsync_k;
IF @@ROWCOUNT = 0 INSERT INTO [rowsync].[state] (name, value, updated_us) VALUES (@rowsync_k, @rowsync_v, DATEDIFF_BIG(MICROSECOND, CAST('1970-01-01' AS datetime2(7)), SYSUTCDATETIME()));
