CREATE OR ALTER TRIGGER [dbo].[rowsync_capture_Wide] ON [dbo].[Wide]
AFTER INSERT, UPDATE, DELETE AS
BEGIN
-- rowsync masks 529ebe64
IF @@ROWCOUNT = 0 RETURN;
SET NOCOUNT ON;
IF CONVERT(int, SESSION_CONTEXT(N'rowsync.applying')) = (SELECT parent_id FROM sys.triggers WHERE object_id = @@PROCID) RETURN;
DECLARE @rowsync_t bigint = DATEDIFF_BIG(MICROSECOND, CAST('1970-01-01' AS datetime2(7)), SYSUTCDATETIME());
DECLARE @rowsync_o nvarchar(255) = CONVERT(nvarchar(255), SESSION_CONTEXT(N'rowsync.origin'));
INSERT INTO [rowsync].[h_dbo_Wide] (op, time_us, origin, k1)
SELECT 3, @rowsync_t, @rowsync_o, d.[c0] FROM deleted AS d
WHERE NOT EXISTS (SELECT 1 FROM inserted AS i WHERE i.[c0] = d.[c0]);
INSERT INTO [rowsync].[h_dbo_Wide] (op, time_us, origin, k1, cols)
SELECT CASE WHEN d.[c0] IS NULL THEN 1 ELSE 2 END, @rowsync_t, @rowsync_o, i.[c0],
CASE WHEN d.[c0] IS NULL THEN NULL ELSE CONVERT(bigint, 0)
 | CASE WHEN CONVERT(varbinary(max), i.[c1]) = CONVERT(varbinary(max), d.[c1]) OR (i.[c1] IS NULL AND d.[c1] IS NULL) THEN 0 ELSE 2 END
 | 4
 | CASE WHEN CONVERT(varbinary(max), i.[c3]) = CONVERT(varbinary(max), d.[c3]) OR (i.[c3] IS NULL AND d.[c3] IS NULL) THEN 0 ELSE 8 END
 | CASE WHEN CONVERT(varbinary(max), i.[c4]) = CONVERT(varbinary(max), d.[c4]) OR (i.[c4] IS NULL AND d.[c4] IS NULL) THEN 0 ELSE 16 END
 | CASE WHEN CONVERT(varbinary(max), i.[c5]) = CONVERT(varbinary(max), d.[c5]) OR (i.[c5] IS NULL AND d.[c5] IS NULL) THEN 0 ELSE 32 END
 | CASE WHEN CONVERT(varbinary(max), i.[c6]) = CONVERT(varbinary(max), d.[c6]) OR (i.[c6] IS NULL AND d.[c6] IS NULL) THEN 0 ELSE 64 END
 | CASE WHEN CONVERT(varbinary(max), i.[c7]) = CONVERT(varbinary(max), d.[c7]) OR (i.[c7] IS NULL AND d.[c7] IS NULL) THEN 0 ELSE 128 END
 | CASE WHEN CONVERT(varbinary(max), i.[c8]) = CONVERT(varbinary(max), d.[c8]) OR (i.[c8] IS NULL AND d.[c8] IS NULL) THEN 0 ELSE 256 END
 | CASE WHEN CONVERT(varbinary(max), i.[c9]) = CONVERT(varbinary(max), d.[c9]) OR (i.[c9] IS NULL AND d.[c9] IS NULL) THEN 0 ELSE 512 END
 | CASE WHEN CONVERT(varbinary(max), i.[c10]) = CONVERT(varbinary(max), d.[c10]) OR (i.[c10] IS NULL AND d.[c10] IS NULL) THEN 0 ELSE 1024 END
 | CASE WHEN CONVERT(varbinary(max), i.[c11]) = CONVERT(varbinary(max), d.[c11]) OR (i.[c11] IS NULL AND d.[c11] IS NULL) THEN 0 ELSE 2048 END
 | CASE WHEN CONVERT(varbinary(max), i.[c12]) = CONVERT(varbinary(max), d.[c12]) OR (i.[c12] IS NULL AND d.[c12] IS NULL) THEN 0 ELSE 4096 END
 | CASE WHEN CONVERT(varbinary(max), i.[c13]) = CONVERT(varbinary(max), d.[c13]) OR (i.[c13] IS NULL AND d.[c13] IS NULL) THEN 0 ELSE 8192 END
 | CASE WHEN CONVERT(varbinary(max), i.[c14]) = CONVERT(varbinary(max), d.[c14]) OR (i.[c14] IS NULL AND d.[c14] IS NULL) THEN 0 ELSE 16384 END
 | CASE WHEN CONVERT(varbinary(max), i.[c15]) = CONVERT(varbinary(max), d.[c15]) OR (i.[c15] IS NULL AND d.[c15] IS NULL) THEN 0 ELSE 32768 END
 | CASE WHEN CONVERT(varbinary(max), i.[c16]) = CONVERT(varbinary(max), d.[c16]) OR (i.[c16] IS NULL AND d.[c16] IS NULL) THEN 0 ELSE 65536 END
 | CASE WHEN CONVERT(varbinary(max), i.[c17]) = CONVERT(varbinary(max), d.[c17]) OR (i.[c17] IS NULL AND d.[c17] IS NULL) THEN 0 ELSE 131072 END
 | CASE WHEN CONVERT(varbinary(max), i.[c18]) = CONVERT(varbinary(max), d.[c18]) OR (i.[c18] IS NULL AND d.[c18] IS NULL) THEN 0 ELSE 262144 END
 | CASE WHEN CONVERT(varbinary(max), i.[c19]) = CONVERT(varbinary(max), d.[c19]) OR (i.[c19] IS NULL AND d.[c19] IS NULL) THEN 0 ELSE 524288 END
 | CASE WHEN CONVERT(varbinary(max), i.[c20]) = CONVERT(varbinary(max), d.[c20]) OR (i.[c20] IS NULL AND d.[c20] IS NULL) THEN 0 ELSE 1048576 END
 | CASE WHEN CONVERT(varbinary(max), i.[c21]) = CONVERT(varbinary(max), d.[c21]) OR (i.[c21] IS NULL AND d.[c21] IS NULL) THEN 0 ELSE 2097152 END
 | CASE WHEN CONVERT(varbinary(max), i.[c22]) = CONVERT(varbinary(max), d.[c22]) OR (i.[c22] IS NULL AND d.[c22] IS NULL) THEN 0 ELSE 4194304 END
 | CASE WHEN CONVERT(varbinary(max), i.[c23]) = CONVERT(varbinary(max), d.[c23]) OR (i.[c23] IS NULL AND d.[c23] IS NULL) THEN 0 ELSE 8388608 END
 | CASE WHEN CONVERT(varbinary(max), i.[c24]) = CONVERT(varbinary(max), d.[c24]) OR (i.[c24] IS NULL AND d.[c24] IS NULL) THEN 0 ELSE 16777216 END
 | CASE WHEN CONVERT(varbinary(max), i.[c25]) = CONVERT(varbinary(max), d.[c25]) OR (i.[c25] IS NULL AND d.[c25] IS NULL) THEN 0 ELSE 33554432 END
 | CASE WHEN CONVERT(varbinary(max), i.[c26]) = CONVERT(varbinary(max), d.[c26]) OR (i.[c26] IS NULL AND d.[c26] IS NULL) THEN 0 ELSE 67108864 END
 | CASE WHEN CONVERT(varbinary(max), i.[c27]) = CONVERT(varbinary(max), d.[c27]) OR (i.[c27] IS NULL AND d.[c27] IS NULL) THEN 0 ELSE 134217728 END
 | CASE WHEN CONVERT(varbinary(max), i.[c28]) = CONVERT(varbinary(max), d.[c28]) OR (i.[c28] IS NULL AND d.[c28] IS NULL) THEN 0 ELSE 268435456 END
 | CASE WHEN CONVERT(varbinary(max), i.[c29]) = CONVERT(varbinary(max), d.[c29]) OR (i.[c29] IS NULL AND d.[c29] IS NULL) THEN 0 ELSE 536870912 END
 | CASE WHEN CONVERT(varbinary(max), i.[c30]) = CONVERT(varbinary(max), d.[c30]) OR (i.[c30] IS NULL AND d.[c30] IS NULL) THEN 0 ELSE 1073741824 END
 | CASE WHEN CONVERT(varbinary(max), i.[c31]) = CONVERT(varbinary(max), d.[c31]) OR (i.[c31] IS NULL AND d.[c31] IS NULL) THEN 0 ELSE 2147483648 END
 | CASE WHEN CONVERT(varbinary(max), i.[c32]) = CONVERT(varbinary(max), d.[c32]) OR (i.[c32] IS NULL AND d.[c32] IS NULL) THEN 0 ELSE 4294967296 END
 | CASE WHEN CONVERT(varbinary(max), i.[c33]) = CONVERT(varbinary(max), d.[c33]) OR (i.[c33] IS NULL AND d.[c33] IS NULL) THEN 0 ELSE 8589934592 END
 | CASE WHEN CONVERT(varbinary(max), i.[c34]) = CONVERT(varbinary(max), d.[c34]) OR (i.[c34] IS NULL AND d.[c34] IS NULL) THEN 0 ELSE 17179869184 END
 | CASE WHEN CONVERT(varbinary(max), i.[c35]) = CONVERT(varbinary(max), d.[c35]) OR (i.[c35] IS NULL AND d.[c35] IS NULL) THEN 0 ELSE 34359738368 END
 | CASE WHEN CONVERT(varbinary(max), i.[c36]) = CONVERT(varbinary(max), d.[c36]) OR (i.[c36] IS NULL AND d.[c36] IS NULL) THEN 0 ELSE 68719476736 END
 | CASE WHEN CONVERT(varbinary(max), i.[c37]) = CONVERT(varbinary(max), d.[c37]) OR (i.[c37] IS NULL AND d.[c37] IS NULL) THEN 0 ELSE 137438953472 END
 | CASE WHEN CONVERT(varbinary(max), i.[c38]) = CONVERT(varbinary(max), d.[c38]) OR (i.[c38] IS NULL AND d.[c38] IS NULL) THEN 0 ELSE 274877906944 END
 | CASE WHEN CONVERT(varbinary(max), i.[c39]) = CONVERT(varbinary(max), d.[c39]) OR (i.[c39] IS NULL AND d.[c39] IS NULL) THEN 0 ELSE 549755813888 END
 | CASE WHEN CONVERT(varbinary(max), i.[c40]) = CONVERT(varbinary(max), d.[c40]) OR (i.[c40] IS NULL AND d.[c40] IS NULL) THEN 0 ELSE 1099511627776 END
 | CASE WHEN CONVERT(varbinary(max), i.[c41]) = CONVERT(varbinary(max), d.[c41]) OR (i.[c41] IS NULL AND d.[c41] IS NULL) THEN 0 ELSE 2199023255552 END
 | CASE WHEN CONVERT(varbinary(max), i.[c42]) = CONVERT(varbinary(max), d.[c42]) OR (i.[c42] IS NULL AND d.[c42] IS NULL) THEN 0 ELSE 4398046511104 END
 | CASE WHEN CONVERT(varbinary(max), i.[c43]) = CONVERT(varbinary(max), d.[c43]) OR (i.[c43] IS NULL AND d.[c43] IS NULL) THEN 0 ELSE 8796093022208 END
 | CASE WHEN CONVERT(varbinary(max), i.[c44]) = CONVERT(varbinary(max), d.[c44]) OR (i.[c44] IS NULL AND d.[c44] IS NULL) THEN 0 ELSE 17592186044416 END
 | CASE WHEN CONVERT(varbinary(max), i.[c45]) = CONVERT(varbinary(max), d.[c45]) OR (i.[c45] IS NULL AND d.[c45] IS NULL) THEN 0 ELSE 35184372088832 END
 | CASE WHEN CONVERT(varbinary(max), i.[c46]) = CONVERT(varbinary(max), d.[c46]) OR (i.[c46] IS NULL AND d.[c46] IS NULL) THEN 0 ELSE 70368744177664 END
 | CASE WHEN CONVERT(varbinary(max), i.[c47]) = CONVERT(varbinary(max), d.[c47]) OR (i.[c47] IS NULL AND d.[c47] IS NULL) THEN 0 ELSE 140737488355328 END
 | CASE WHEN CONVERT(varbinary(max), i.[c48]) = CONVERT(varbinary(max), d.[c48]) OR (i.[c48] IS NULL AND d.[c48] IS NULL) THEN 0 ELSE 281474976710656 END
 | CASE WHEN CONVERT(varbinary(max), i.[c49]) = CONVERT(varbinary(max), d.[c49]) OR (i.[c49] IS NULL AND d.[c49] IS NULL) THEN 0 ELSE 562949953421312 END
 | CASE WHEN CONVERT(varbinary(max), i.[c50]) = CONVERT(varbinary(max), d.[c50]) OR (i.[c50] IS NULL AND d.[c50] IS NULL) THEN 0 ELSE 1125899906842624 END
 | CASE WHEN CONVERT(varbinary(max), i.[c51]) = CONVERT(varbinary(max), d.[c51]) OR (i.[c51] IS NULL AND d.[c51] IS NULL) THEN 0 ELSE 2251799813685248 END
 | CASE WHEN CONVERT(varbinary(max), i.[c52]) = CONVERT(varbinary(max), d.[c52]) OR (i.[c52] IS NULL AND d.[c52] IS NULL) THEN 0 ELSE 4503599627370496 END
 | CASE WHEN CONVERT(varbinary(max), i.[c53]) = CONVERT(varbinary(max), d.[c53]) OR (i.[c53] IS NULL AND d.[c53] IS NULL) THEN 0 ELSE 9007199254740992 END
 | CASE WHEN CONVERT(varbinary(max), i.[c54]) = CONVERT(varbinary(max), d.[c54]) OR (i.[c54] IS NULL AND d.[c54] IS NULL) THEN 0 ELSE 18014398509481984 END
 | CASE WHEN CONVERT(varbinary(max), i.[c55]) = CONVERT(varbinary(max), d.[c55]) OR (i.[c55] IS NULL AND d.[c55] IS NULL) THEN 0 ELSE 36028797018963968 END
 | CASE WHEN CONVERT(varbinary(max), i.[c56]) = CONVERT(varbinary(max), d.[c56]) OR (i.[c56] IS NULL AND d.[c56] IS NULL) THEN 0 ELSE 72057594037927936 END
 | CASE WHEN CONVERT(varbinary(max), i.[c57]) = CONVERT(varbinary(max), d.[c57]) OR (i.[c57] IS NULL AND d.[c57] IS NULL) THEN 0 ELSE 144115188075855872 END
 | CASE WHEN CONVERT(varbinary(max), i.[c58]) = CONVERT(varbinary(max), d.[c58]) OR (i.[c58] IS NULL AND d.[c58] IS NULL) THEN 0 ELSE 288230376151711744 END
 | CASE WHEN CONVERT(varbinary(max), i.[c59]) = CONVERT(varbinary(max), d.[c59]) OR (i.[c59] IS NULL AND d.[c59] IS NULL) THEN 0 ELSE 576460752303423488 END
 | CASE WHEN CONVERT(varbinary(max), i.[c60]) = CONVERT(varbinary(max), d.[c60]) OR (i.[c60] IS NULL AND d.[c60] IS NULL) THEN 0 ELSE 1152921504606846976 END
 | CASE WHEN CONVERT(varbinary(max), i.[c61]) = CONVERT(varbinary(max), d.[c61]) OR (i.[c61] IS NULL AND d.[c61] IS NULL) THEN 0 ELSE 2305843009213693952 END
 | CASE WHEN CONVERT(varbinary(max), i.[c62]) = CONVERT(varbinary(max), d.[c62]) OR (i.[c62] IS NULL AND d.[c62] IS NULL) THEN 0 ELSE 4611686018427387904 END
 | CASE WHEN CONVERT(varbinary(max), i.[c63]) = CONVERT(varbinary(max), d.[c63]) OR (i.[c63] IS NULL AND d.[c63] IS NULL) THEN 0 ELSE CONVERT(bigint, 0x8000000000000000) END END
FROM inserted AS i LEFT JOIN deleted AS d ON d.[c0] = i.[c0];
END;
