DECLARE @rowsync_res nvarchar(255) = SUBSTRING(@name, 2, 2147483647), @rowsync_ms int = CONVERT(int, SUBSTRING(@ms, 2, 2147483647)), @rowsync_r int;
EXEC @rowsync_r = sp_getapplock @Resource = @rowsync_res, @LockMode = 'Exclusive', @LockOwner = 'Session', @LockTimeout = @rowsync_ms;
SELECT @rowsync_r;
