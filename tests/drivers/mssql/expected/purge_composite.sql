IF OBJECT_ID(N'[rowsync].[h_sales_Order]]Lines]', N'U') IS NULL
BEGIN
SELECT CONVERT(bigint, -1);
RETURN;
END;
DECLARE @rowsync_u binary(8) = CONVERT(binary(8), CONVERT(bigint, SUBSTRING(@upto, 2, 2147483647)));
DECLARE @rowsync_b bigint = CONVERT(bigint, SUBSTRING(@before, 2, 2147483647));
DECLARE @rowsync_n bigint = 0, @rowsync_c int = 1;
SET NOCOUNT ON;
WHILE @rowsync_c > 0
BEGIN
DELETE TOP (4000) FROM [rowsync].[h_sales_Order]]Lines]
WHERE rv < @rowsync_u AND time_us < @rowsync_b;
SET @rowsync_c = @@ROWCOUNT;
SET @rowsync_n = @rowsync_n + @rowsync_c;
END;
SELECT @rowsync_n;
