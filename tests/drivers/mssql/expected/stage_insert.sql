INSERT INTO #rowsync_stage_4 (n, op, time_us, origin, c1, c2, c3, c4) VALUES
(10, CONVERT(tinyint, SUBSTRING(@o0, 2, 2147483647)), CONVERT(bigint, SUBSTRING(@t0, 2, 2147483647)), SUBSTRING(@g0, 2, 2147483647), SUBSTRING(@v0_1, 2, 2147483647), SUBSTRING(@v0_2, 2, 2147483647), SUBSTRING(@v0_3, 2, 2147483647), SUBSTRING(@v0_4, 2, 2147483647)),
(11, CONVERT(tinyint, SUBSTRING(@o1, 2, 2147483647)), CONVERT(bigint, SUBSTRING(@t1, 2, 2147483647)), SUBSTRING(@g1, 2, 2147483647), SUBSTRING(@v1_1, 2, 2147483647), SUBSTRING(@v1_2, 2, 2147483647), SUBSTRING(@v1_3, 2, 2147483647), SUBSTRING(@v1_4, 2, 2147483647));
-- parameters
@o0 nvarchar(max), @t0 nvarchar(max), @g0 nvarchar(max), @v0_1 nvarchar(max), @v0_2 nvarchar(max), @v0_3 nvarchar(max), @v0_4 varbinary(max), @o1 nvarchar(max), @t1 nvarchar(max), @g1 nvarchar(max), @v1_1 nvarchar(max), @v1_2 nvarchar(max), @v1_3 nvarchar(max), @v1_4 varbinary(max)
