IF OBJECT_ID(N'[rowsync].[h_dbo_Orders]', N'U') IS NULL
BEGIN
CREATE TABLE [rowsync].[h_dbo_Orders] (seq bigint IDENTITY(1,1) NOT NULL PRIMARY KEY, op tinyint NOT NULL, time_us bigint NOT NULL, origin nvarchar(255) NULL, rv rowversion NOT NULL, k1 int NOT NULL, cols bigint NULL);
CREATE INDEX [rowsync_rv] ON [rowsync].[h_dbo_Orders] (rv);
END;
IF COL_LENGTH(N'[rowsync].[h_dbo_Orders]', N'cols') IS NULL ALTER TABLE [rowsync].[h_dbo_Orders] ADD cols bigint NULL;
