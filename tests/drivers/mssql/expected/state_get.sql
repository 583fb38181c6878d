IF OBJECT_ID(N'[rowsync].[state]', N'U') IS NOT NULL
SELECT value, updated_us FROM [rowsync].[state] WHERE name = SUBSTRING(@k, 2, 2147483647);
