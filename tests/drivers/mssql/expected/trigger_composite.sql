CREATE OR ALTER TRIGGER [sales].[rowsync_capture_Order]]Lines] ON [sales].[Order]]Lines]
AFTER INSERT, UPDATE, DELETE AS
BEGIN
-- rowsync masks b7d920c9
IF @@ROWCOUNT = 0 RETURN;
SET NOCOUNT ON;
IF CONVERT(int, SESSION_CONTEXT(N'rowsync.applying')) = (SELECT parent_id FROM sys.triggers WHERE object_id = @@PROCID) RETURN;
DECLARE @rowsync_t bigint = DATEDIFF_BIG(MICROSECOND, CAST('1970-01-01' AS datetime2(7)), SYSUTCDATETIME());
DECLARE @rowsync_o nvarchar(255) = CONVERT(nvarchar(255), SESSION_CONTEXT(N'rowsync.origin'));
INSERT INTO [rowsync].[h_sales_Order]]Lines] (op, time_us, origin, k1, k2)
SELECT 3, @rowsync_t, @rowsync_o, d.[region], d.[order no] FROM deleted AS d
WHERE NOT EXISTS (SELECT 1 FROM inserted AS i WHERE i.[region] = d.[region] AND i.[order no] = d.[order no]);
INSERT INTO [rowsync].[h_sales_Order]]Lines] (op, time_us, origin, k1, k2, cols)
SELECT CASE WHEN d.[region] IS NULL THEN 1 ELSE 2 END, @rowsync_t, @rowsync_o, i.[region], i.[order no],
CASE WHEN d.[region] IS NULL THEN NULL ELSE CONVERT(bigint, 0)
 | CASE WHEN CONVERT(varbinary(max), i.[note]) = CONVERT(varbinary(max), d.[note]) OR (i.[note] IS NULL AND d.[note] IS NULL) THEN 0 ELSE 4 END
 | CASE WHEN CONVERT(varbinary(max), i.[blob]) = CONVERT(varbinary(max), d.[blob]) OR (i.[blob] IS NULL AND d.[blob] IS NULL) THEN 0 ELSE 8 END END
FROM inserted AS i LEFT JOIN deleted AS d ON d.[region] = i.[region] AND d.[order no] = i.[order no];
END;
