<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.22.16-Białowieża" styleCategories="Symbology|Labeling" labelsEnabled="1">
  <renderer-v2 type="categorizedSymbol" attr="level" symbollevels="1" forceraster="0" enableorderby="0">
    <categories>
      <category value="station" label="辖区 / station" symbol="0" render="true" />
      <category value="base" label="基础网格 / base grid" symbol="1" render="true" />
      <category value="micro" label="微网格 / micro-grid" symbol="2" render="true" />
    </categories>
    <symbols>
      <symbol type="fill" name="0" alpha="1" clip_to_extent="1" force_rhr="0">
        <layer class="SimpleFill" enabled="1" locked="0" pass="2">
          <Option type="Map">
            <Option type="QString" name="color" value="0,0,0,0" />
            <Option type="QString" name="style" value="no" />
            <Option type="QString" name="outline_color" value="26,26,26,255" />
            <Option type="QString" name="outline_style" value="solid" />
            <Option type="QString" name="outline_width" value="0.8" />
            <Option type="QString" name="outline_width_unit" value="MM" />
            <Option type="QString" name="joinstyle" value="bevel" />
          </Option>
          <prop k="color" v="0,0,0,0" />
          <prop k="style" v="no" />
          <prop k="outline_color" v="26,26,26,255" />
          <prop k="outline_style" v="solid" />
          <prop k="outline_width" v="0.8" />
          <prop k="outline_width_unit" v="MM" />
          <prop k="joinstyle" v="bevel" />
        </layer>
      </symbol>
      <symbol type="fill" name="1" alpha="1" clip_to_extent="1" force_rhr="0">
        <layer class="SimpleFill" enabled="1" locked="0" pass="1">
          <Option type="Map">
            <Option type="QString" name="color" value="0,0,0,0" />
            <Option type="QString" name="style" value="no" />
            <Option type="QString" name="outline_color" value="29,79,156,255" />
            <Option type="QString" name="outline_style" value="solid" />
            <Option type="QString" name="outline_width" value="0.5" />
            <Option type="QString" name="outline_width_unit" value="MM" />
            <Option type="QString" name="joinstyle" value="bevel" />
          </Option>
          <prop k="color" v="0,0,0,0" />
          <prop k="style" v="no" />
          <prop k="outline_color" v="29,79,156,255" />
          <prop k="outline_style" v="solid" />
          <prop k="outline_width" v="0.5" />
          <prop k="outline_width_unit" v="MM" />
          <prop k="joinstyle" v="bevel" />
        </layer>
      </symbol>
      <symbol type="fill" name="2" alpha="0.6" clip_to_extent="1" force_rhr="0">
        <layer class="SimpleFill" enabled="1" locked="0" pass="0">
          <Option type="Map">
            <Option type="QString" name="color" value="247,247,247,255" />
            <Option type="QString" name="style" value="solid" />
            <Option type="QString" name="outline_color" value="140,140,140,255" />
            <Option type="QString" name="outline_style" value="solid" />
            <Option type="QString" name="outline_width" value="0.15" />
            <Option type="QString" name="outline_width_unit" value="MM" />
            <Option type="QString" name="joinstyle" value="bevel" />
          </Option>
          <prop k="color" v="247,247,247,255" />
          <prop k="style" v="solid" />
          <prop k="outline_color" v="140,140,140,255" />
          <prop k="outline_style" v="solid" />
          <prop k="outline_width" v="0.15" />
          <prop k="outline_width_unit" v="MM" />
          <prop k="joinstyle" v="bevel" />
        </layer>
      </symbol>
    </symbols>
  </renderer-v2>
  <labeling type="simple">
    <settings calloutType="simple">
      <text-style fieldName="CASE WHEN &quot;level&quot; = 'base' THEN &quot;name&quot; END" isExpression="1" fontSize="9" fontSizeUnit="Point" textColor="0,0,0,255" textOpacity="1" fontWeight="50" multilineHeight="1" />
      <text-buffer bufferDraw="1" bufferSize="0.8" bufferSizeUnits="MM" bufferColor="255,255,255,255" bufferOpacity="0.9" bufferNoFill="1" />
      <placement placement="1" centroidInside="1" />
      <rendering obstacle="1" fontLimitPixelSize="0" />
    </settings>
  </labeling>
</qgis>
