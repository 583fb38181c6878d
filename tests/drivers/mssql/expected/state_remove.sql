DROP TABLE IF EXISTS [rowsync].[state];
DROP TABLE IF EXISTS [rowsync].[conflicts];
IF SCHEMA_ID(N'rowsync') IS NOT NULL AND NOT EXISTS (SELECT 1 FROM sys.objects WHERE schema_id = SCHEMA_ID(N'rowsync')) EXEC(N'DROP SCHEMA [rowsync]');
