DECLARE @rowsync_n bigint = CONVERT(bigint, SUBSTRING(@lim, 2, 2147483647));
IF @rowsync_n = 0 SET @rowsync_n = 9223372036854775807;
IF OBJECT_ID(N'[rowsync].[conflicts]', N'U') IS NOT NULL
SELECT TOP (@rowsync_n) decided_us, table_name, [key], [rule], winner, loser, winner_time_us, loser_time_us, note FROM [rowsync].[conflicts] ORDER BY id DESC;
