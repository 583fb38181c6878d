IF OBJECT_ID(N'[rowsync].[h_sales_Order]]Lines]', N'U') IS NULL
BEGIN
CREATE TABLE [rowsync].[h_sales_Order]]Lines] (seq bigint IDENTITY(1,1) NOT NULL PRIMARY KEY, op tinyint NOT NULL, time_us bigint NOT NULL, origin nvarchar(255) NULL, rv rowversion NOT NULL, k1 char(2) COLLATE Latin1_General_BIN2 NOT NULL, k2 bigint NOT NULL, cols bigint NULL);
CREATE INDEX [rowsync_rv] ON [rowsync].[h_sales_Order]]Lines] (rv);
END;
IF COL_LENGTH(N'[rowsync].[h_sales_Order]]Lines]', N'cols') IS NULL ALTER TABLE [rowsync].[h_sales_Order]]Lines] ADD cols bigint NULL;
