DECLARE @rowsync_h bigint = CONVERT(bigint, MIN_ACTIVE_ROWVERSION());
DECLARE @rowsync_s bigint = CONVERT(bigint, SUBSTRING(@since, 2, 2147483647));
DECLARE @rowsync_u bigint = CONVERT(bigint, SUBSTRING(@upto, 2, 2147483647));
IF @rowsync_u IS NOT NULL AND @rowsync_u < @rowsync_h SET @rowsync_h = @rowsync_u;
SELECT @rowsync_h, CONVERT(bigint, MAX(h.rv)) FROM [rowsync].[h_dbo_Orders] AS h
WHERE h.rv >= CONVERT(binary(8), @rowsync_s) AND h.rv < CONVERT(binary(8), @rowsync_h);
