IF OBJECT_ID(N'[rowsync].[state]', N'U') IS NULL
CREATE TABLE [rowsync].[state] (name nvarchar(450) NOT NULL PRIMARY KEY, value nvarchar(1024) NOT NULL, updated_us bigint NOT NULL);
IF OBJECT_ID(N'[rowsync].[conflicts]', N'U') IS NULL
CREATE TABLE [rowsync].[conflicts] (id bigint IDENTITY(1,1) NOT NULL PRIMARY KEY, decided_us bigint NOT NULL, table_name nvarchar(max) NOT NULL, [key] nvarchar(max) NOT NULL, [rule] nvarchar(100) NOT NULL, winner nvarchar(255) NOT NULL, loser nvarchar(255) NOT NULL, winner_time_us bigint NOT NULL, loser_time_us bigint NOT NULL, note nvarchar(max) NULL);
