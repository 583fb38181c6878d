DECLARE @rowsync_res nvarchar(255) = SUBSTRING(@name, 2, 2147483647), @rowsync_r int;
EXEC @rowsync_r = sp_releaseapplock @Resource = @rowsync_res, @LockOwner = 'Session';
SELECT @rowsync_r;
