using System.Buffers.Binary;
using Hearth.Backends.Cuda;
using Hearth.Core;

namespace Hearth.Backends.Tests.CudaQuant;

/// <summary>
/// gemv_quant.cu's arithmetic for one 16-row tile on the host: the A registers are built with the kernel's own
/// shifts, masks and magic numbers, placed where PTX's m16n8k16 fragment layout puts register i of lane 4g + t
/// (i = 0: row g, columns 2t, 2t+1; 1: row g+8; 2: row g, columns 2t+8, 2t+9; 3: row g+8, those), B likewise
/// (b0: rows 2t, 2t+1 of column g; b1: rows 2t+8, 2t+9), and each group's sums are folded as the kernel folds them.
/// </summary>
internal static class KernelEmulator
{
    /// <summary>y [16 rows, batch] for one tile; F8 uses <paramref name="f8Scales"/>[0, group] (one block per tile).</summary>
    public static float[,] Run(CudaQuantFamily family, byte[] tile, uint[] tileParams, float[,] f8Scales, int k, int group, float[,] x, int batch)
    {
        int tilesPerLoad = CudaQuantTiles.TilesPerLoad(family), tileBytes = family == CudaQuantFamily.G4 ? 4 : 8;
        int tilesPerGroup = group / 16, numColumnTiles = (batch + 7) / 8;
        var y = new float[16, batch];
        for (int nt = 0; nt < numColumnTiles; nt++)
        {
            var gacc = new float[16, 8];
            var sx = new float[8];
            for (int kt = 0; kt < k / 16; kt++)
            {
                var a = new float[16, 16];
                var high = new float[16, 16];
                var b = new float[16, 8];
                for (int lane = 0; lane < 32; lane++)
                {
                    int g = lane >> 2, t = lane & 3;
                    int offset = ((kt / tilesPerLoad) * 32 + lane) * 16 + (kt % tilesPerLoad) * tileBytes;
                    uint w0 = BinaryPrimitives.ReadUInt32LittleEndian(tile.AsSpan(offset)), w1 = tileBytes == 8 ? BinaryPrimitives.ReadUInt32LittleEndian(tile.AsSpan(offset + 4)) : 0;
                    for (int i = 0; i < 4; i++)
                    {
                        uint reg = family == CudaQuantFamily.F8 ? E4m3x2(i < 2 ? w0 : w1, (i & 1) == 0 ? 0x4140u : 0x4342u) : ((w0 >> (4 * i)) & 0x000F000Fu) | 0x43004300u;
                        Place(a, reg, i, g, t);
                        if (family == CudaQuantFamily.G8) Place(high, ((w1 >> (4 * i)) & 0x000F000Fu) | 0x45004500u, i, g, t);
                    }
                    int row = nt * 8 + g;
                    if (row >= batch) continue;
                    int kb = kt * 16 + 4 * t;
                    b[2 * t, g] = x[row, kb];
                    b[2 * t + 1, g] = x[row, kb + 1];
                    b[2 * t + 8, g] = x[row, kb + 2];
                    b[2 * t + 9, g] = x[row, kb + 3];
                }
                for (int r = 0; r < 16; r++)
                    for (int n = 0; n < 8; n++)
                        for (int p = 0; p < 16; p++) gacc[r, n] += (a[r, p] + high[r, p]) * b[p, n];
                for (int n = 0; n < 8; n++)
                    for (int p = 0; p < 16; p++) sx[n] += b[p, n];
                if ((kt + 1) % tilesPerGroup != 0) continue;
                int grp = kt / tilesPerGroup;
                for (int r = 0; r < 16; r++)
                {
                    float s, o = 0;
                    if (family == CudaQuantFamily.F8) s = f8Scales[0, grp];
                    else
                    {
                        uint param = tileParams[grp * 16 + r];
                        float bias = family == CudaQuantFamily.G4 ? 128f : 2304f;
                        s = (float)BitConverter.UInt16BitsToHalf((ushort)param);
                        o = (float)BitConverter.UInt16BitsToHalf((ushort)(param >> 16)) - bias * s;
                    }
                    for (int n = 0; n < 8; n++)
                        if (nt * 8 + n < batch) y[r, nt * 8 + n] += s * gacc[r, n] + o * sx[n];
                }
                Array.Clear(gacc);
                Array.Clear(sx);
            }
        }
        return y;
    }

    private static void Place(float[,] a, uint reg, int i, int g, int t)
    {
        int row = g + (i & 1) * 8, column = 2 * t + (i >> 1) * 8;
        a[row, column] = BFloat16Bits.ToSingle((ushort)reg);
        a[row, column + 1] = BFloat16Bits.ToSingle((ushort)(reg >> 16));
    }

    // prmt(w, 0, selector), the bits placed where bf16 keeps them, then fma.rn.bf16x2 by 2^120 (exact).
    private static uint E4m3x2(uint w, uint selector)
    {
        uint t = 0;
        for (int i = 0; i < 4; i++)
        {
            uint s = (selector >> (4 * i)) & 0xF;
            uint b = s < 4 ? (w >> (int)(8 * s)) & 0xFF : 0;
            t |= b << (8 * i);
        }
        uint bits = ((t & 0x007F007Fu) << 4) | ((t & 0x00800080u) << 8);
        float lo = BFloat16Bits.ToSingle((ushort)bits) * MathF.Pow(2, 120), hi = BFloat16Bits.ToSingle((ushort)(bits >> 16)) * MathF.Pow(2, 120);
        return BFloat16Bits.FromSingle(lo) | (uint)BFloat16Bits.FromSingle(hi) << 16;
    }
}
